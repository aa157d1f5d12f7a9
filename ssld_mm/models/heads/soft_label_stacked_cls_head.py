"""MMPretrain's stacked linear head trained from soft labels."""
from mmpretrain.models.heads import StackedLinearClsHead

from ssld_mm.registry import MODELS
from .soft_label_head_mixin import SoftLabelHeadMixin


@MODELS.register_module()
class SoftLabelStackedClsHead(SoftLabelHeadMixin, StackedLinearClsHead):
    """``StackedLinearClsHead`` whose loss is a divergence against soft targets.

    For students whose configs use MMPretrain's stacked head (its MobileNetV3
    configs keep the 1280-wide layer there). Loss as
    :class:`SoftLabelClsHead`; see :class:`SoftLabelHeadMixin`.

    Args:
        num_classes (int): Number of classes.
        in_channels (int): Input feature channels.
        mid_channels (Sequence[int]): Widths of the hidden layers.
        distill_loss (dict): Divergence config. Defaults to
            ``SymmetricKLLoss`` (PaddleClas's SSLD loss).
        gt_loss_weight (float): Weight of the hard-label loss. Defaults to 0.
        **kwargs: Other arguments of ``mmpretrain.StackedLinearClsHead``
            (``dropout_rate``, ``act_cfg``, ``loss``, ``topk`` ...).

    Example:
        >>> head = dict(type='ssld_mm.SoftLabelStackedClsHead',
        ...             num_classes=1000, in_channels=960, mid_channels=[1280],
        ...             dropout_rate=0.2, act_cfg=dict(type='HSwish'),
        ...             distill_loss=dict(type='ssld_mm.SymmetricKLLoss'))
    """
