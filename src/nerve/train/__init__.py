"""Training: the one loop (``Trainer``), its callbacks, and checkpoints that resume exactly."""
from .callbacks import (Callback, CallbackList, CSVLogger, EarlyStopping, History,  # noqa: F401
                        JSONLogger, LRSchedulerCallback, ModelCheckpoint, ProgressBar)
from .checkpoint import load_checkpoint, read_checkpoint, save_checkpoint  # noqa: F401
from .doctor import DeadUnitMonitor, Diagnostics, GradientMonitor, TrainingDoctor  # noqa: F401
from .generative import (GANTrainer, ModelObjective, discriminator_loss, generator_loss,  # noqa: F401
                         objective_loss)
from .guards import CarryState, NonFiniteGuard  # noqa: F401
from .trainer import Trainer  # noqa: F401

__all__ = ["Trainer", "NonFiniteGuard", "CarryState", "Callback", "History", "ProgressBar", "EarlyStopping", "ModelCheckpoint",
           "LRSchedulerCallback", "CSVLogger", "JSONLogger", "save_checkpoint", "load_checkpoint",
           "read_checkpoint", "TrainingDoctor", "Diagnostics", "GradientMonitor", "DeadUnitMonitor",
           "GANTrainer", "ModelObjective", "objective_loss", "discriminator_loss", "generator_loss"]
