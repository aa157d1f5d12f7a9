# PaddleClas ResNet200_vd (model only, 1000 classes): computes what
# PaddleClas's ResNet200_vd computes. Converted weights load
# strictly:
#   python tools/model_converters/paddle_to_mm.py \
#       ResNet200_vd_pretrained.pdparams \
#       checkpoints/resnet200_vd.pth --arch ResNet200_vd
# Published top-1 (PaddleClas): 80.93.
model = dict(
    type='mmpretrain.ImageClassifier',
    backbone=dict(
        type='ssld_mm.PaddleResNetV1d',
        depth=200,
        num_stages=4,
        out_indices=(3, ),
        style='pytorch',
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
