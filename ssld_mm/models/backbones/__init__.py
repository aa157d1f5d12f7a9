from .mobilenet_v1 import MobileNetV1
from .paddle_mobilenet_v2 import PaddleMobileNetV2
from .paddle_mobilenet_v3 import PaddleMobileNetV3
from .paddle_res2net import PaddleRes2Net
from .paddle_resnet_v1d import PaddleResNetV1d
from .ssld_resnet_v1d import SSLDResNetV1d

__all__ = [
    'MobileNetV1', 'PaddleMobileNetV2', 'PaddleMobileNetV3', 'PaddleRes2Net',
    'PaddleResNetV1d', 'SSLDResNetV1d'
]
