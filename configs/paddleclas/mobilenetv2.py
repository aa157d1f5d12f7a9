# PaddleClas MobileNetV2 with PaddleClas preprocessing
# (short side 256, center crop 224, ImageNet mean/std on RGB),
# to evaluate converted weights:
#   python tools/model_converters/paddle_to_mm.py \
#       MobileNetV2_pretrained.pdparams \
#       checkpoints/mobilenetv2.pth --arch MobileNetV2
#   python tools/test.py configs/paddleclas/mobilenetv2.py \
#       checkpoints/mobilenetv2.pth
# Published top-1 (PaddleClas): 72.15; MobileNetV2_ssld 76.74.
_base_ = [
    '../_base_/models/paddleclas/mobilenetv2.py',
    '../_base_/datasets/imagenet_bs64_paddle.py',
    '../_base_/default_runtime.py',
]

# Evaluation only (tools/test.py); the SSLD / fine-tuning configs train.
train_dataloader = None
val_cfg = dict()
test_cfg = dict()
