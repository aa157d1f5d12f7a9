"""True Jensen-Shannon divergence between student and teacher."""
import math

import torch

from ssld_mm.registry import MODELS
from .base_distill_loss import BaseDistillLoss

_LOG2 = math.log(2.0)


@MODELS.register_module()
class JSDivLoss(BaseDistillLoss):
    """Jensen-Shannon divergence ``0.5*KL(P||M) + 0.5*KL(Q||M)``, ``M=(P+Q)/2``.

    This is the *true* JS divergence: symmetric, bounded by ``ln 2`` (times
    ``T**2`` when a temperature is used) and zero only for equal
    distributions. It is **not** the loss PaddleClas calls ``JSDivLoss``
    (PaddleClas's is the symmetric KL divergence, see
    :class:`SymmetricKLLoss`, which is the one that reproduces the published
    SSLD numbers).

    With ``P = softmax(student / T)`` and ``Q = softmax(teacher / T)`` the loss
    of a sample is summed over classes; the batch mean is multiplied by
    ``loss_weight * T**2``. ``log M`` is computed stably as
    ``logsumexp(log P, log Q) - ln 2`` in float32, so logits of magnitude
    1e4 and fp16/bf16 inputs give finite values and gradients. The teacher
    logits are detached.

    Args:
        loss_weight, temperature: See :class:`BaseDistillLoss`.

    Example:
        >>> loss = JSDivLoss()
        >>> float(loss(torch.tensor([[9., 0.]]), torch.tensor([[0., 9.]])))
        0.6919...
        >>> # in a config: model = dict(distill_loss=dict(type='JSDivLoss'))
    """

    def per_sample_loss(self, log_p_s: torch.Tensor,
                        log_p_t: torch.Tensor) -> torch.Tensor:
        log_m = torch.logsumexp(torch.stack([log_p_s, log_p_t]), dim=0) - _LOG2
        kl_sm = (log_p_s.exp() * (log_p_s - log_m)).sum(dim=1)
        kl_tm = (log_p_t.exp() * (log_p_t - log_m)).sum(dim=1)
        return 0.5 * (kl_sm + kl_tm)
