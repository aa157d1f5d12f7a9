# MobileNetV3_large_x1_0 (mmpretrain's backbone; the Paddle-compatible one that
# loads PaddleClas weights is registered by ssld_mm, see configs/paddleclas/).
model = dict(
    type='mmpretrain.ImageClassifier',
    backbone=dict(type='mmpretrain.MobileNetV3', arch='large'),
    neck=dict(type='mmpretrain.GlobalAveragePooling'),
    head=dict(
        type='mmpretrain.StackedLinearClsHead',
        num_classes=1000,
        in_channels=960,
        mid_channels=[1280],
        dropout_rate=0.2,
        act_cfg=dict(type='HSwish'),
        loss=dict(type='mmpretrain.CrossEntropyLoss', loss_weight=1.0),
        init_cfg=dict(type='Normal', layer='Linear', mean=0., std=0.01, bias=0.),
        topk=(1, 5)),
)
