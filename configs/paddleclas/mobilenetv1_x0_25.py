# PaddleClas MobileNetV1_x0_25 with PaddleClas preprocessing
# (short side 256, center crop 224, ImageNet mean/std on RGB),
# to evaluate converted weights:
#   python tools/model_converters/paddle_to_mm.py \
#       MobileNetV1_x0_25_pretrained.pdparams \
#       checkpoints/mobilenetv1_x0_25.pth --arch MobileNetV1_x0_25
#   python tools/test.py configs/paddleclas/mobilenetv1_x0_25.py \
#       checkpoints/mobilenetv1_x0_25.pth
# Published top-1 (PaddleClas): 51.43.
_base_ = [
    '../_base_/models/paddleclas/mobilenetv1_x0_25.py',
    '../_base_/datasets/imagenet_bs64_paddle.py',
    '../_base_/default_runtime.py',
]

# Evaluation only (tools/test.py); the SSLD / fine-tuning configs train.
train_dataloader = None
val_cfg = dict()
test_cfg = dict()
