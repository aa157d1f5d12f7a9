from .paddle_mobilenet_v3_head import PaddleMobileNetV3Head
from .soft_label_cls_head import SoftLabelClsHead
from .soft_label_head_mixin import (SoftLabelHeadMixin, collect_soft_targets,
                                    probs_to_logits, soft_label_losses)
from .soft_label_paddle_mobilenet_v3_head import SoftLabelPaddleMobileNetV3Head
from .soft_label_plain_cls_head import SoftLabelPlainClsHead
from .soft_label_stacked_cls_head import SoftLabelStackedClsHead

__all__ = [
    'PaddleMobileNetV3Head', 'SoftLabelClsHead', 'SoftLabelStackedClsHead',
    'SoftLabelPaddleMobileNetV3Head', 'SoftLabelPlainClsHead', 'SoftLabelHeadMixin',
    'collect_soft_targets', 'probs_to_logits', 'soft_label_losses'
]
