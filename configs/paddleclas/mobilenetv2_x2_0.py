# PaddleClas MobileNetV2_x2_0 with PaddleClas preprocessing
# (short side 256, center crop 224, ImageNet mean/std on RGB),
# to evaluate converted weights:
#   python tools/model_converters/paddle_to_mm.py \
#       MobileNetV2_x2_0_pretrained.pdparams \
#       checkpoints/mobilenetv2_x2_0.pth --arch MobileNetV2_x2_0
#   python tools/test.py configs/paddleclas/mobilenetv2_x2_0.py \
#       checkpoints/mobilenetv2_x2_0.pth
# Published top-1 (PaddleClas): 75.23.
_base_ = [
    '../_base_/models/paddleclas/mobilenetv2_x2_0.py',
    '../_base_/datasets/imagenet_bs64_paddle.py',
    '../_base_/default_runtime.py',
]

# Evaluation only (tools/test.py); the SSLD / fine-tuning configs train.
train_dataloader = None
val_cfg = dict()
test_cfg = dict()
