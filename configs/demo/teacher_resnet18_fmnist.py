# Demo teacher: a CIFAR-style ResNet-18 (16-128 channels, 0.7M parameters)
# trained on the labeled subset L only (2000 images) with crop + flip, 40 epochs
# (about 87% test top-1; evaluated every 10 epochs, the 10000 test images
# cost a CPU thread some 10-20 s each time).
#   python tools/train.py configs/demo/teacher_resnet18_fmnist.py
# (`make demo` runs every demo config; see docs/demo.md.)
_base_ = ['../_base_/default_runtime.py', './_base_/fashion_mnist_demo.py']

model = dict(
    type='mmpretrain.ImageClassifier',
    data_preprocessor={{_base_.data_preprocessor}},
    backbone=dict(
        type='mmpretrain.ResNet_CIFAR',
        depth=18,
        in_channels=1,
        stem_channels=16,
        base_channels=16),
    neck=dict(type='mmpretrain.GlobalAveragePooling'),
    head=dict(
        type='mmpretrain.LinearClsHead',
        num_classes=10,
        in_channels=128,
        loss=dict(type='mmpretrain.CrossEntropyLoss'),
        topk=(1, )))

optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=40, by_epoch=True, convert_to_iter_based=True)
]
train_cfg = dict(by_epoch=True, max_epochs=40, val_interval=10)
val_cfg = dict()
test_cfg = dict()

# Save only the last epoch; logs every 50 iterations.
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(
        type='CheckpointHook', interval=-1, save_last=True, max_keep_ckpts=1))
randomness = dict(seed=0, deterministic=False)
