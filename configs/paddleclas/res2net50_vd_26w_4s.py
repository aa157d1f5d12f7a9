# PaddleClas Res2Net50_vd_26w_4s with PaddleClas preprocessing
# (short side 256, center crop 224, ImageNet mean/std on RGB),
# to evaluate converted weights:
#   python tools/model_converters/paddle_to_mm.py \
#       Res2Net50_vd_26w_4s_pretrained.pdparams \
#       checkpoints/res2net50_vd_26w_4s.pth --arch Res2Net50_vd_26w_4s
#   python tools/test.py configs/paddleclas/res2net50_vd_26w_4s.py \
#       checkpoints/res2net50_vd_26w_4s.pth
# Published top-1 (PaddleClas): 79.75; Res2Net50_vd_26w_4s_ssld 83.1.
_base_ = [
    '../_base_/models/paddleclas/res2net50_vd_26w_4s.py',
    '../_base_/datasets/imagenet_bs64_paddle.py',
    '../_base_/default_runtime.py',
]

# Evaluation only (tools/test.py); the SSLD / fine-tuning configs train.
train_dataloader = None
val_cfg = dict()
test_cfg = dict()
