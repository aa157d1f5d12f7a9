# PaddleClas MobileNetV2_x0_25 (model only, 1000 classes): computes what
# PaddleClas's MobileNetV2_x0_25 computes. Converted weights load
# strictly:
#   python tools/model_converters/paddle_to_mm.py \
#       MobileNetV2_x0_25_pretrained.pdparams \
#       checkpoints/mobilenetv2_x0_25.pth --arch MobileNetV2_x0_25
# Published top-1 (PaddleClas): 53.21.
model = dict(
    type='mmpretrain.ImageClassifier',
    backbone=dict(type='ssld_mm.PaddleMobileNetV2', scale=0.25),
    neck=dict(type='mmpretrain.GlobalAveragePooling'),
    head=dict(
        type='mmpretrain.LinearClsHead',
        num_classes=1000,
        in_channels=1280,
        loss=dict(type='mmpretrain.CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5),
    ),
)
