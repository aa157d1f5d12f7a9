# ResNeXt101_32x16d_wsl (PaddleClas, 84.2% top-1; weakly supervised on
# Instagram, fine-tuned on ImageNet-1k) as mmpretrain's ResNeXt-101 32x16d:
# the teacher of the configs/ssld/rx101wsl_* recipes.
model = dict(
    type='mmpretrain.ImageClassifier',
    backbone=dict(
        type='mmpretrain.ResNeXt',
        depth=101,
        groups=32,
        width_per_group=16,
        out_indices=(3, )),
    neck=dict(type='mmpretrain.GlobalAveragePooling'),
    head=dict(type='mmpretrain.LinearClsHead', num_classes=1000, in_channels=2048))
