# PaddleClas MobileNetV1 (model only, 1000 classes): computes what
# PaddleClas's MobileNetV1 computes. Converted weights load
# strictly:
#   python tools/model_converters/paddle_to_mm.py \
#       MobileNetV1_pretrained.pdparams \
#       checkpoints/mobilenetv1.pth --arch MobileNetV1
# Published top-1 (PaddleClas): 70.99; MobileNetV1_ssld 77.89.
model = dict(
    type='mmpretrain.ImageClassifier',
    backbone=dict(type='ssld_mm.MobileNetV1', scale=1.0),
    neck=dict(type='mmpretrain.GlobalAveragePooling'),
    head=dict(
        type='mmpretrain.LinearClsHead',
        num_classes=1000,
        in_channels=1024,
        loss=dict(type='mmpretrain.CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5),
    ),
)
