# PaddleClas MobileNetV1 with PaddleClas preprocessing
# (short side 256, center crop 224, ImageNet mean/std on RGB),
# to evaluate converted weights:
#   python tools/model_converters/paddle_to_mm.py \
#       MobileNetV1_pretrained.pdparams \
#       checkpoints/mobilenetv1.pth --arch MobileNetV1
#   python tools/test.py configs/paddleclas/mobilenetv1.py \
#       checkpoints/mobilenetv1.pth
# Published top-1 (PaddleClas): 70.99; MobileNetV1_ssld 77.89.
_base_ = [
    '../_base_/models/paddleclas/mobilenetv1.py',
    '../_base_/datasets/imagenet_bs64_paddle.py',
    '../_base_/default_runtime.py',
]

# Evaluation only (tools/test.py); the SSLD / fine-tuning configs train.
train_dataloader = None
val_cfg = dict()
test_cfg = dict()
