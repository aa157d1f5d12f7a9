# PaddleClas ResNet152_vd (model only, 1000 classes): computes what
# PaddleClas's ResNet152_vd computes. Converted weights load
# strictly:
#   python tools/model_converters/paddle_to_mm.py \
#       ResNet152_vd_pretrained.pdparams \
#       checkpoints/resnet152_vd.pth --arch ResNet152_vd
# Published top-1 (PaddleClas): 80.59.
model = dict(
    type='mmpretrain.ImageClassifier',
    backbone=dict(
        type='mmpretrain.ResNetV1d',
        depth=152,
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
