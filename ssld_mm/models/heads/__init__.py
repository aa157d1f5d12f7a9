from .paddle_mobilenet_v3_head import PaddleMobileNetV3Head

__all__ = ['PaddleMobileNetV3Head']
