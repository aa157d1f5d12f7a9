"""Cross-entropy of the student against the teacher's probabilities."""
import torch

from ssld_mm.registry import MODELS
from .base_distill_loss import BaseDistillLoss


@MODELS.register_module()
class SoftCELoss(BaseDistillLoss):
    """Soft-target cross-entropy ``-sum_c p_t * log p_s``.

    ``p_t = softmax(teacher / T)``, ``log p_s = log_softmax(student / T)``;
    summed over classes, averaged over the batch, times ``loss_weight * T**2``.
    It equals :class:`KLDivLoss` plus the teacher's entropy, so both give the
    same student gradients; this value is never below the teacher entropy
    (it is not zero for equal inputs). Computed in float32; the teacher
    logits are detached.

    Args:
        loss_weight, temperature: See :class:`BaseDistillLoss`.

    Example:
        >>> # stored soft labels, trained through the soft-label head
        >>> head = dict(type='ssld_mm.SoftLabelClsHead', num_classes=1000,
        ...             in_channels=2048, distill_loss=dict(type='SoftCELoss'))
    """

    def per_sample_loss(self, log_p_s: torch.Tensor,
                        log_p_t: torch.Tensor) -> torch.Tensor:
        return -(log_p_t.exp() * log_p_s).sum(dim=1)
