"""Hinton knowledge distillation: KL(teacher || student) with temperature."""
import torch

from ssld_mm.registry import MODELS
from .base_distill_loss import BaseDistillLoss


@MODELS.register_module()
class KLDivLoss(BaseDistillLoss):
    """Hinton et al. (2015) distillation loss ``T**2 * KL(p_t || p_s)``.

    ``p_t = softmax(teacher / T)``, ``p_s = softmax(student / T)``; the KL
    divergence is summed over classes, averaged over the batch (PyTorch's
    ``kl_div(..., reduction='batchmean')``) and multiplied by
    ``loss_weight * T**2``. Computed in float32 from ``log_softmax``; the
    teacher logits are detached. For the published SSLD numbers use
    :class:`SymmetricKLLoss` instead.

    Args:
        loss_weight, temperature: See :class:`BaseDistillLoss`.

    Example:
        >>> model = dict(
        ...     type='SSLDDistiller',
        ...     distill_loss=dict(type='KLDivLoss', temperature=4.0),
        ...     ...)
    """

    def per_sample_loss(self, log_p_s: torch.Tensor,
                        log_p_t: torch.Tensor) -> torch.Tensor:
        return (log_p_t.exp() * (log_p_t - log_p_s)).sum(dim=1)
