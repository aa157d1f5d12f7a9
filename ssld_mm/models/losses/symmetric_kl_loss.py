"""Symmetric KL divergence: PaddleClas's ``JSDivLoss`` / ``DMLLoss``."""
import math

import torch

from ssld_mm.registry import MODELS
from .base_distill_loss import BaseDistillLoss, check_non_negative


@MODELS.register_module()
class SymmetricKLLoss(BaseDistillLoss):
    """Symmetric KL divergence, exactly PaddleClas's SSLD loss.

    **Use this loss to reproduce the published SSLD numbers.** PaddleClas
    calls it ``JSDivLoss`` (release/2.1, ``ppcls/modeling/loss.py``) and later
    ``DMLLoss``, but it is the symmetric KL divergence, not the Jensen-Shannon
    divergence (that one is :class:`JSDivLoss` here). Per sample, with
    ``p_t = softmax(teacher / T)`` and ``p_s = softmax(student / T)``::

        0.5 * ( sum_c p_t * log((p_t + eps) / (p_s + eps))
              + sum_c p_s * log((p_s + eps) / (p_t + eps)) )

    then the mean over the batch, times ``loss_weight * T**2``. PaddleClas
    uses ``T = 1`` and ``eps = 1e-10`` (``DMLLoss`` later 1e-12). Both terms
    combine to ``0.5 * sum_c (p_t - p_s) * (log(p_t + eps) - log(p_s + eps))``;
    ``log(p + eps)`` is computed as ``logaddexp(log_softmax, log eps)`` in
    float32, which equals PaddleClas's value but stays finite for logits of
    magnitude 1e4 and under fp16/bf16 autocast. ``eps = 0`` gives the plain
    symmetric KL divergence. The teacher logits are detached.

    Args:
        loss_weight (float): Weight of the loss, >= 0. Defaults to 1.0.
        temperature (float): Softmax temperature > 0. Defaults to 1.0
            (PaddleClas has none).
        eps (float): Constant added to the probabilities inside the logs,
            >= 0. Defaults to 1e-10 (PaddleClas's value).

    Example:
        >>> # PaddleClas's SSLD recipe
        >>> model = dict(
        ...     type='SSLDDistiller',
        ...     distill_loss=dict(type='SymmetricKLLoss', loss_weight=1.0),
        ...     ...)
    """

    def __init__(self,
                 loss_weight: float = 1.0,
                 temperature: float = 1.0,
                 eps: float = 1e-10) -> None:
        super().__init__(loss_weight=loss_weight, temperature=temperature)
        self.eps = check_non_negative('eps', eps)

    def per_sample_loss(self, log_p_s: torch.Tensor,
                        log_p_t: torch.Tensor) -> torch.Tensor:
        if self.eps > 0:
            log_eps = math.log(self.eps)
            log_s = torch.logaddexp(log_p_s, torch.full_like(log_p_s, log_eps))
            log_t = torch.logaddexp(log_p_t, torch.full_like(log_p_t, log_eps))
        else:
            log_s, log_t = log_p_s, log_p_t
        return 0.5 * ((log_p_t.exp() - log_p_s.exp()) * (log_t - log_s)).sum(1)

    def extra_repr(self) -> str:
        return super().extra_repr() + f', eps={self.eps}'
