"""MMPretrain's layer-free ClsHead trained from soft labels."""
from mmpretrain.models.heads import ClsHead

from ssld_mm.registry import MODELS
from .soft_label_head_mixin import SoftLabelHeadMixin


@MODELS.register_module()
class SoftLabelPlainClsHead(SoftLabelHeadMixin, ClsHead):
    """``ClsHead`` (no layers: the backbone already outputs logits) whose loss
    is a divergence against soft targets.

    For students like MMPretrain's ``LeNet5`` whose backbone ends in the
    classifier. Loss as :class:`SoftLabelClsHead`; see
    :class:`SoftLabelHeadMixin`.

    Args:
        distill_loss (dict): Divergence config. Defaults to
            ``SymmetricKLLoss`` (PaddleClas's SSLD loss).
        gt_loss_weight (float): Weight of the hard-label loss. Defaults to 0.
        **kwargs: Other arguments of ``mmpretrain.ClsHead`` (``loss``,
            ``topk``, ``cal_acc``, ``init_cfg``).

    Example:
        >>> model = dict(
        ...     type='mmpretrain.ImageClassifier',
        ...     backbone=dict(type='mmpretrain.LeNet5', num_classes=10),
        ...     head=dict(type='ssld_mm.SoftLabelPlainClsHead',
        ...               distill_loss=dict(type='ssld_mm.SymmetricKLLoss')))
    """
