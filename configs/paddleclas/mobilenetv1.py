# PaddleClas MobileNetV1 with PaddleClas's preprocessing (resize short side 256,
# center crop 224, ImageNet mean/std on RGB), for evaluating converted weights:
#   python tools/model_converters/paddle_to_mm.py MobileNetV1_pretrained.pdparams \
#       checkpoints/mobilenetv1.pth --arch MobileNetV1
#   python tools/test.py configs/paddleclas/mobilenetv1.py checkpoints/mobilenetv1.pth
# Published top-1 (PaddleClas): 70.99; MobileNetV1_ssld 77.89.
_base_ = [
    '../_base_/models/paddleclas/mobilenetv1.py',
    '../_base_/datasets/imagenet_bs64_paddle.py',
    '../_base_/default_runtime.py',
]

val_cfg = dict()
test_cfg = dict()
