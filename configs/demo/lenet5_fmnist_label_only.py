# Demo student, label-only baseline: MMPretrain's LeNet-5 (62k parameters)
# trained with cross-entropy on the labeled subset L (2000 images).
#   python tools/train.py configs/demo/lenet5_fmnist_label_only.py
_base_ = ['../_base_/default_runtime.py', './_base_/fashion_mnist_demo.py']

model = dict(
    type='mmpretrain.ImageClassifier',
    data_preprocessor={{_base_.data_preprocessor}},
    backbone=dict(type='mmpretrain.LeNet5', num_classes=10),
    neck=None,
    head=dict(
        type='mmpretrain.ClsHead',
        loss=dict(type='mmpretrain.CrossEntropyLoss'),
        topk=(1, )))

optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=5e-4))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=40, by_epoch=True, convert_to_iter_based=True)
]
train_cfg = dict(by_epoch=True, max_epochs=40, val_interval=4)
val_cfg = dict()
test_cfg = dict()

# Save only the last epoch; logs every 50 iterations.
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(
        type='CheckpointHook', interval=-1, save_last=True, max_keep_ckpts=1))
randomness = dict(seed=0, deterministic=False)
