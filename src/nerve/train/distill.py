"""Knowledge distillation (Hinton, Vinyals & Dean 2015): a small student learns from the
softened outputs of a larger, frozen teacher as well as from the labels.

    loss = α·T²·KL(softmax(t/T) ‖ softmax(s/T)) + (1 − α)·CE(s, y)

The KL term uses ``kl_div(log_softmax(s/T), softmax(t/T), reduction='batchmean')``, the same
as PyTorch's recipe; the factor T² keeps its gradients on the scale of the CE term's as T
changes (the soft gradients shrink as 1/T²).

``Distiller`` plugs a frozen teacher into the ``Trainer``: it is both the callback that runs
the teacher on every batch (through a forward pre-hook on the student, which sees the
inputs) and the loss function that uses the teacher's logits.
"""
from __future__ import annotations

from .. import functional as F
from ..autograd import Tensor, no_grad
from .callbacks import Callback

__all__ = ["distillation_loss", "DistillationLoss", "Distiller"]


def _check(temperature, alpha):
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature!r}")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha (the weight of the teacher's term) must be in [0, 1], got {alpha!r}")


def distillation_loss(student_logits, teacher_logits, target=None, temperature=4.0, alpha=0.9,
                      ignore_index=-100):
    """α·T²·KL(softmax(t/T) ‖ softmax(s/T)) + (1 − α)·cross_entropy(s, target).

    Args:
        student_logits: (N, K) Tensor, differentiated.
        teacher_logits: (N, K) Tensor or array; treated as a constant (detached).
        target: (N,) class indices; may be None only when ``alpha == 1``.
        temperature: T > 0; larger T softens both distributions.
        alpha: weight of the soft (teacher) term, in [0, 1].
        ignore_index: a target with this value is unlabelled: it adds to the soft term only
            (the CE term averages over the labelled samples, as ``cross_entropy`` does).

    Example:
        >>> import nerve as nv
        >>> s = nv.tensor([[1.0, 2.0, 0.5]]); t = nv.tensor([[1.0, 2.0, 0.5]])
        >>> abs(distillation_loss(s, t, temperature=2.0, alpha=1.0).item()) < 1e-6  # same outputs: no loss
        True
    """
    _check(temperature, alpha)
    if tuple(student_logits.shape) != tuple(teacher_logits.shape):
        raise ValueError(f"student logits {tuple(student_logits.shape)} and teacher logits "
                         f"{tuple(teacher_logits.shape)} must have the same shape")
    t = teacher_logits.detach() if isinstance(teacher_logits, Tensor) else Tensor(teacher_logits)
    T = float(temperature)
    soft = F.kl_div(F.log_softmax(student_logits / T, dim=1), F.softmax(t / T, dim=1),
                    reduction="batchmean") * (T * T)
    if alpha == 1.0:
        return soft
    if target is None:
        raise ValueError(f"alpha={alpha} gives the labels weight {1 - alpha:g}, so pass target "
                         "(class indices), or use alpha=1.0 for the teacher's term alone")
    labels = target._data if isinstance(target, Tensor) else target
    if not (labels != ignore_index).any():
        # a batch of unlabelled samples (the teacher's transfer set): only the soft term
        return soft * alpha
    return soft * alpha + F.cross_entropy(student_logits, target, ignore_index=ignore_index) * (1.0 - alpha)


class DistillationLoss:
    """``distillation_loss`` as an object: ``DistillationLoss(T, alpha)(student, teacher, target)``."""

    def __init__(self, temperature=4.0, alpha=0.9, ignore_index=-100):
        _check(temperature, alpha)
        self.temperature, self.alpha, self.ignore_index = float(temperature), float(alpha), ignore_index

    def __call__(self, student_logits, teacher_logits, target=None):
        return distillation_loss(student_logits, teacher_logits, target, self.temperature, self.alpha,
                                 self.ignore_index)

    def __repr__(self):
        return f"DistillationLoss(temperature={self.temperature:g}, alpha={self.alpha:g})"


class Distiller(Callback):
    """Train a student against a frozen teacher with the ordinary ``Trainer``.

    Pass the same object as the loss and as a callback::

        distill = Distiller(teacher, temperature=4.0, alpha=0.9)
        Trainer(student, optimizer, distill, callbacks=[distill]).fit(loader, epochs=10)

    On ``on_train_begin`` the teacher is put in ``eval()`` mode and its parameters stop
    requiring gradients; a forward pre-hook on the student runs the teacher (under
    ``no_grad``) on each batch the student sees, and the call ``distill(outputs, targets)``
    combines those teacher logits with the labels (validation during ``fit`` uses the same
    loss). The hook is removed and the teacher's ``requires_grad`` flags restored on
    ``on_train_end``; detached, the call is the plain cross-entropy of the student, so a
    later ``trainer.evaluate`` reports the student's own test loss.
    """

    def __init__(self, teacher, temperature=4.0, alpha=0.9, ignore_index=-100):
        super().__init__()
        self.teacher = teacher
        self.loss = DistillationLoss(temperature, alpha, ignore_index)
        self._handle = None
        self._teacher_logits = None
        self._flags = None

    def _run_teacher(self, module, args):
        with no_grad():
            self._teacher_logits = self.teacher(args[0])

    def attach(self, student):
        """Start running the teacher beside ``student`` (``on_train_begin`` does this)."""
        if self._handle is not None:
            return
        self._flags = [p.requires_grad for p in self.teacher.parameters()]
        self.teacher.eval()
        self.teacher.requires_grad_(False)
        self._handle = student.register_forward_pre_hook(self._run_teacher)

    def detach(self):
        """Stop running the teacher and restore its ``requires_grad`` flags."""
        if self._handle is None:
            return
        self._handle.remove()
        self._handle = None
        for p, flag in zip(self.teacher.parameters(), self._flags):
            p.requires_grad_(flag)
        self._teacher_logits = None

    def on_train_begin(self, logs=None):
        self.attach(self.trainer.model)

    def on_train_end(self, logs=None):
        self.detach()

    def __call__(self, outputs, targets):
        if self._handle is None:  # not attached (e.g. evaluate() after fit): the student alone
            return F.cross_entropy(outputs, targets, ignore_index=self.loss.ignore_index)
        return self.loss(outputs, self._teacher_logits, targets)
