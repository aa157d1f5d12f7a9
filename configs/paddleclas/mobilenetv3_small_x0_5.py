# PaddleClas MobileNetV3_small_x0_5 with PaddleClas preprocessing
# (short side 256, center crop 224, ImageNet mean/std on RGB),
# to evaluate converted weights:
#   python tools/model_converters/paddle_to_mm.py \
#       MobileNetV3_small_x0_5_pretrained.pdparams \
#       checkpoints/mobilenetv3_small_x0_5.pth --arch MobileNetV3_small_x0_5
#   python tools/test.py configs/paddleclas/mobilenetv3_small_x0_5.py \
#       checkpoints/mobilenetv3_small_x0_5.pth
# Published top-1 (PaddleClas): 59.21.
_base_ = [
    '../_base_/models/paddleclas/mobilenetv3_small_x0_5.py',
    '../_base_/datasets/imagenet_bs64_paddle.py',
    '../_base_/default_runtime.py',
]

# Evaluation only (tools/test.py); the SSLD / fine-tuning configs train.
train_dataloader = None
val_cfg = dict()
test_cfg = dict()
