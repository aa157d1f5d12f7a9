"""The Paddle-compatible MobileNetV3 head trained from soft labels."""
from ssld_mm.registry import MODELS
from .paddle_mobilenet_v3_head import PaddleMobileNetV3Head
from .soft_label_head_mixin import SoftLabelHeadMixin


@MODELS.register_module()
class SoftLabelPaddleMobileNetV3Head(SoftLabelHeadMixin, PaddleMobileNetV3Head):
    """:class:`PaddleMobileNetV3Head` whose loss is a divergence against soft
    targets.

    Same layers and state-dict keys as :class:`PaddleMobileNetV3Head` (a
    converted PaddleClas checkpoint loads unchanged), so the SSLD MobileNetV3
    students train from stored soft labels. Loss as :class:`SoftLabelClsHead`;
    see :class:`SoftLabelHeadMixin`.

    Args:
        num_classes (int): Number of classes.
        distill_loss (dict): Divergence config. Defaults to
            ``SymmetricKLLoss`` (PaddleClas's SSLD loss).
        gt_loss_weight (float): Weight of the hard-label loss. Defaults to 0.
        **kwargs: Other arguments of :class:`PaddleMobileNetV3Head`
            (``in_channels``, ``mid_channels``, ``dropout_rate`` ...,
            ``loss``).

    Example:
        >>> head = dict(type='ssld_mm.SoftLabelPaddleMobileNetV3Head',
        ...             num_classes=1000, in_channels=960, mid_channels=1280,
        ...             dropout_rate=0.2,
        ...             distill_loss=dict(type='ssld_mm.SymmetricKLLoss'))
    """
