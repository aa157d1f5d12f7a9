# PaddleClas MobileNetV3_small_x0_5 (model only, 1000 classes): computes what
# PaddleClas's MobileNetV3_small_x0_5 computes. Converted weights load
# strictly:
#   python tools/model_converters/paddle_to_mm.py \
#       MobileNetV3_small_x0_5_pretrained.pdparams \
#       checkpoints/mobilenetv3_small_x0_5.pth --arch MobileNetV3_small_x0_5
# Published top-1 (PaddleClas): 59.21.
model = dict(
    type='mmpretrain.ImageClassifier',
    backbone=dict(
        type='ssld_mm.PaddleMobileNetV3',
        arch='small',
        scale=0.5,
    ),
    neck=dict(type='mmpretrain.GlobalAveragePooling'),
    head=dict(
        type='ssld_mm.PaddleMobileNetV3Head',
        num_classes=1000,
        in_channels=288,
        mid_channels=1280,
        dropout_rate=0.2,
        loss=dict(type='mmpretrain.CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5),
    ),
)
