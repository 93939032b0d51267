"""Training: the one loop (``Trainer``), its callbacks, and checkpoints that resume exactly.

Learning paradigms built on it: distillation from a frozen teacher (``distill``), continual
learning with EWC and replay (``continual``), and meta-learning with MAML and Reptile (``meta``).
"""
from .callbacks import (Callback, CallbackList, CSVLogger, EarlyStopping, History,  # noqa: F401
                        JSONLogger, LRSchedulerCallback, ModelCheckpoint, ProgressBar)
from .checkpoint import load_checkpoint, read_checkpoint, save_checkpoint  # noqa: F401
from .doctor import DeadUnitMonitor, Diagnostics, GradientMonitor, TrainingDoctor  # noqa: F401
from .generative import (GANTrainer, ModelObjective, discriminator_loss, generator_loss,  # noqa: F401
                         objective_loss)
from .guards import CarryState, NonFiniteGuard  # noqa: F401
from .trainer import Trainer  # noqa: F401
from .distill import DistillationLoss, Distiller, distillation_loss  # noqa: F401
from .continual import EWC, ReplayBuffer, ReplayLoader, TaskSequence  # noqa: F401
from .meta import MAML, Reptile, SinusoidTasks  # noqa: F401

__all__ = ["Trainer", "NonFiniteGuard", "CarryState", "Callback", "History", "ProgressBar", "EarlyStopping", "ModelCheckpoint",
           "LRSchedulerCallback", "CSVLogger", "JSONLogger", "save_checkpoint", "load_checkpoint",
           "read_checkpoint", "TrainingDoctor", "Diagnostics", "GradientMonitor", "DeadUnitMonitor",
           "distillation_loss", "DistillationLoss", "Distiller", "TaskSequence", "EWC", "ReplayBuffer",
           "ReplayLoader", "MAML", "Reptile", "SinusoidTasks",
           "GANTrainer", "ModelObjective", "objective_loss", "discriminator_loss", "generator_loss"]
