# PaddleClas ResNet50_vd with PaddleClas preprocessing
# (short side 256, center crop 224, ImageNet mean/std on RGB),
# to evaluate converted weights:
#   python tools/model_converters/paddle_to_mm.py \
#       ResNet50_vd_pretrained.pdparams \
#       checkpoints/resnet50_vd.pth --arch ResNet50_vd
#   python tools/test.py configs/paddleclas/resnet50_vd.py \
#       checkpoints/resnet50_vd.pth
# Published top-1 (PaddleClas): 79.12; ResNet50_vd_ssld 82.4 (2.0) / 83.0
# (v2, current).
_base_ = [
    '../_base_/models/paddleclas/resnet50_vd.py',
    '../_base_/datasets/imagenet_bs64_paddle.py',
    '../_base_/default_runtime.py',
]

# Evaluation only (tools/test.py); the SSLD / fine-tuning configs train.
train_dataloader = None
val_cfg = dict()
test_cfg = dict()
