# PaddleClas ResNet152_vd with PaddleClas preprocessing
# (short side 256, center crop 224, ImageNet mean/std on RGB),
# to evaluate converted weights:
#   python tools/model_converters/paddle_to_mm.py \
#       ResNet152_vd_pretrained.pdparams \
#       checkpoints/resnet152_vd.pth --arch ResNet152_vd
#   python tools/test.py configs/paddleclas/resnet152_vd.py \
#       checkpoints/resnet152_vd.pth
# Published top-1 (PaddleClas): 80.59.
_base_ = [
    '../_base_/models/paddleclas/resnet152_vd.py',
    '../_base_/datasets/imagenet_bs64_paddle.py',
    '../_base_/default_runtime.py',
]

# Evaluation only (tools/test.py); the SSLD / fine-tuning configs train.
train_dataloader = None
val_cfg = dict()
test_cfg = dict()
