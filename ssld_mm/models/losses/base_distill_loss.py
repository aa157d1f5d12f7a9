"""The base class of the distillation losses (not registered itself).

Every loss of this package is called as ``loss(student_logits,
teacher_logits)`` with two ``[N, C]`` tensors of raw logits and returns the
``loss_weight``-weighted mean over the batch as a float32 scalar. The common
work lives in :class:`BaseDistillLoss`: argument checks, detaching the
teacher, computing in float32 with autocast switched off, temperature
scaling, weighting and the batch mean. A subclass only writes
:meth:`BaseDistillLoss.per_sample_loss` from the two log-probability tensors.
"""
import math
from numbers import Real

import torch
from torch import nn


def check_non_negative(name: str, value) -> float:
    """Return ``value`` as float, or raise if it is not a real number >= 0."""
    if isinstance(value, bool) or not isinstance(value, Real) \
            or not math.isfinite(value) or value < 0:
        raise ValueError(f'{name} must be a finite number >= 0, got {value!r}')
    return float(value)


def check_positive(name: str, value) -> float:
    """Return ``value`` as float, or raise if it is not a real number > 0."""
    if isinstance(value, bool) or not isinstance(value, Real) \
            or not math.isfinite(value) or value <= 0:
        raise ValueError(f'{name} must be a finite number > 0, got {value!r}')
    return float(value)


def check_logits(student_logits, teacher_logits) -> None:
    """Raise unless both are floating ``[N, C]`` tensors of the same shape."""
    for name, t in (('student_logits', student_logits), ('teacher_logits',
                                                         teacher_logits)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f'{name} must be a torch.Tensor, got {type(t).__name__}')
        if not t.is_floating_point():
            raise TypeError(f'{name} must be a floating point tensor of logits, '
                            f'got dtype {t.dtype}')
        if t.dim() != 2:
            raise ValueError(f'{name} must be 2-D [batch, num_classes], got shape '
                             f'{tuple(t.shape)}')
    if student_logits.shape != teacher_logits.shape:
        raise ValueError(f'student_logits and teacher_logits must have the same shape, '
                         f'got {tuple(student_logits.shape)} and '
                         f'{tuple(teacher_logits.shape)}')


class BaseDistillLoss(nn.Module):
    """Base class of the logit-distillation losses.

    ``forward`` computes, in float32 and outside any autocast region::

        log_p_s = log_softmax(student_logits / T)
        log_p_t = log_softmax(teacher_logits.detach() / T)
        loss = loss_weight * T**2 * mean_over_batch(per_sample_loss(...))

    The ``T**2`` factor (Hinton et al., 2015) keeps gradient magnitudes
    comparable across temperatures; with the default ``T = 1`` it is 1.

    Args:
        loss_weight (float): Weight of the loss, >= 0. Defaults to 1.0.
        temperature (float): Softmax temperature ``T`` > 0. Defaults to 1.0.

    Example:
        >>> from ssld_mm.models.losses import BaseDistillLoss
        >>> from ssld_mm.registry import MODELS
        >>> @MODELS.register_module()
        ... class L1ProbLoss(BaseDistillLoss):
        ...     def per_sample_loss(self, log_p_s, log_p_t):
        ...         return (log_p_s.exp() - log_p_t.exp()).abs().sum(dim=1)
        >>> # in a config: model = dict(distill_loss=dict(type='L1ProbLoss'))
    """

    def __init__(self, loss_weight: float = 1.0, temperature: float = 1.0) -> None:
        super().__init__()
        self.loss_weight = check_non_negative('loss_weight', loss_weight)
        self.temperature = check_positive('temperature', temperature)

    def per_sample_loss(self, log_p_s: torch.Tensor,
                        log_p_t: torch.Tensor) -> torch.Tensor:
        """The unweighted loss of each sample, shape ``[N]``.

        Args:
            log_p_s (Tensor): Student log-probabilities ``[N, C]``, float32.
            log_p_t (Tensor): Teacher log-probabilities ``[N, C]``, float32,
                without gradient.
        """
        raise NotImplementedError

    def forward(self, student_logits: torch.Tensor,
                teacher_logits: torch.Tensor) -> torch.Tensor:
        """Weighted batch mean of the loss (float32 scalar).

        Args:
            student_logits (Tensor): ``[N, C]`` raw logits of the student.
            teacher_logits (Tensor): ``[N, C]`` raw logits of the teacher;
                detached here, so no gradient reaches the teacher.
        """
        check_logits(student_logits, teacher_logits)
        teacher_logits = teacher_logits.detach()
        if student_logits.shape[0] == 0:
            # An empty batch contributes nothing (and keeps the graph).
            return student_logits.float().sum() * 0.0
        with torch.autocast(device_type=student_logits.device.type, enabled=False):
            t = self.temperature
            log_p_s = torch.log_softmax(student_logits.float() / t, dim=1)
            log_p_t = torch.log_softmax(teacher_logits.float() / t, dim=1)
            loss = self.per_sample_loss(log_p_s, log_p_t).mean()
            return loss * (self.loss_weight * t * t)

    def extra_repr(self) -> str:
        return (f'loss_weight={self.loss_weight}, '
                f'temperature={self.temperature}')
