# PaddleClas Res2Net200_vd_26w_4s (model only, 1000 classes): computes what
# PaddleClas's Res2Net200_vd_26w_4s computes. Converted weights load
# strictly:
#   python tools/model_converters/paddle_to_mm.py \
#       Res2Net200_vd_26w_4s_pretrained.pdparams \
#       checkpoints/res2net200_vd_26w_4s.pth --arch Res2Net200_vd_26w_4s
# Published top-1 (PaddleClas): 81.21; Res2Net200_vd_26w_4s_ssld 85.13.
model = dict(
    type='mmpretrain.ImageClassifier',
    backbone=dict(
        type='ssld_mm.PaddleRes2Net',
        depth=200,
        scales=4,
        base_width=26,
        out_indices=(3, ),
    ),
    neck=dict(type='mmpretrain.GlobalAveragePooling'),
    head=dict(
        type='mmpretrain.LinearClsHead',
        num_classes=1000,
        in_channels=2048,
        loss=dict(type='mmpretrain.CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5),
    ),
)
