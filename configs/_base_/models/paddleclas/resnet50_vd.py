# PaddleClas ResNet50_vd (model only, 1000 classes): computes what
# PaddleClas's ResNet50_vd computes. Converted weights load
# strictly:
#   python tools/model_converters/paddle_to_mm.py \
#       ResNet50_vd_pretrained.pdparams \
#       checkpoints/resnet50_vd.pth --arch ResNet50_vd
# Published top-1 (PaddleClas): 79.12; ResNet50_vd_ssld 82.4 (2.0) / 83.0
# (v2, current).
model = dict(
    type='mmpretrain.ImageClassifier',
    backbone=dict(
        type='mmpretrain.ResNetV1d',
        depth=50,
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
