from .backbone_checkpoint import backbone_state, load_backbone_strictly
from .mmdet_resnet import load_mmdet_resnet, to_mmdet_resnet_state
from .paddle_archs import PADDLE_ARCHS, PaddleArch, get_arch, model_cfg
from .paddle_to_mm import PaddleConversionError, convert_paddle_state, convert_pdparams
from .pdparams import load_pdparams

__all__ = [
    'PADDLE_ARCHS', 'PaddleArch', 'get_arch', 'model_cfg', 'load_pdparams',
    'convert_paddle_state', 'convert_pdparams', 'PaddleConversionError',
    'load_mmdet_resnet', 'to_mmdet_resnet_state', 'backbone_state',
    'load_backbone_strictly'
]
