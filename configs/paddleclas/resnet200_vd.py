# PaddleClas ResNet200_vd with PaddleClas preprocessing
# (short side 256, center crop 224, ImageNet mean/std on RGB),
# to evaluate converted weights:
#   python tools/model_converters/paddle_to_mm.py \
#       ResNet200_vd_pretrained.pdparams \
#       checkpoints/resnet200_vd.pth --arch ResNet200_vd
#   python tools/test.py configs/paddleclas/resnet200_vd.py \
#       checkpoints/resnet200_vd.pth
# Published top-1 (PaddleClas): 80.93.
_base_ = [
    '../_base_/models/paddleclas/resnet200_vd.py',
    '../_base_/datasets/imagenet_bs64_paddle.py',
    '../_base_/default_runtime.py',
]

# Evaluation only (tools/test.py); the SSLD / fine-tuning configs train.
train_dataloader = None
val_cfg = dict()
test_cfg = dict()
