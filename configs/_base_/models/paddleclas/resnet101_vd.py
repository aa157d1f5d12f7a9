# PaddleClas ResNet101_vd (model only, 1000 classes): computes what
# PaddleClas's ResNet101_vd computes. Converted weights load
# strictly:
#   python tools/model_converters/paddle_to_mm.py \
#       ResNet101_vd_pretrained.pdparams \
#       checkpoints/resnet101_vd.pth --arch ResNet101_vd
# Published top-1 (PaddleClas): 80.17; ResNet101_vd_ssld 83.73.
model = dict(
    type='mmpretrain.ImageClassifier',
    backbone=dict(
        type='mmpretrain.ResNetV1d',
        depth=101,
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
