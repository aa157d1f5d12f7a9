# A tiny MMPretrain classifier on a CustomDataset folder, for tool tests.
# Tests set train_dataloader.dataset.data_root (and val) via --cfg-options.
_base_ = ['../../../configs/_base_/default_runtime.py']

model = dict(
    type='mmpretrain.ImageClassifier',
    data_preprocessor=dict(
        num_classes=3, mean=[127.5] * 3, std=[127.5] * 3, to_rgb=True),
    backbone=dict(
        type='mmpretrain.ResNet',
        depth=18,
        stem_channels=8,
        base_channels=8,
        out_indices=(3, )),
    neck=dict(type='mmpretrain.GlobalAveragePooling'),
    head=dict(
        type='mmpretrain.LinearClsHead',
        num_classes=3,
        in_channels=64,
        loss=dict(type='mmpretrain.CrossEntropyLoss'),
        topk=(1, )))

pipeline = [
    dict(type='mmpretrain.LoadImageFromFile'),
    dict(type='mmpretrain.Resize', scale=(32, 32)),
    dict(type='mmpretrain.PackInputs'),
]
train_dataloader = dict(
    batch_size=4,
    num_workers=0,
    dataset=dict(type='mmpretrain.CustomDataset', data_root='', pipeline=pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
    drop_last=True)
val_dataloader = dict(
    batch_size=4,
    num_workers=0,
    dataset=dict(type='mmpretrain.CustomDataset', data_root='', pipeline=pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False))
val_evaluator = dict(type='mmpretrain.Accuracy', topk=(1, ))
test_dataloader = val_dataloader
test_evaluator = val_evaluator

optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=1e-4))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=2, by_epoch=True)]
train_cfg = dict(by_epoch=True, max_epochs=2, val_interval=1)
val_cfg = dict()
test_cfg = dict()
default_hooks = dict(
    logger=dict(interval=1), checkpoint=dict(interval=1, max_keep_ckpts=-1))
randomness = dict(seed=0, deterministic=False)
