# Fix_ResNet50_vd_ssld: FixRes fine-tuning of the distilled ResNet50_vd at 320
# (PaddleClas: ResNet50_vd_ssld_v2 82.99 top-1 at 224 -> Fix_ResNet50_vd_ssld_v2
# 84.0 at 320; testing at 320 without the fine-tune gives 83.7).
#
# Train and test share the same preprocessing at the new resolution (resize
# the short edge to int(320 * 256 / 224) = 365, center crop 320; flip only at
# train time). FixResHook freezes everything but the classifier (`head`) and
# keeps BN statistics frozen; `update_bn_stats=True` lets them adapt (the
# FixRes paper's variant). Schedule: a starting point (SGD, lr 1e-3 for a total
# batch of 256, cosine over 10 epochs), not PaddleClas's undisclosed one.
_base_ = [
    '../_base_/models/paddleclas/resnet50_vd.py',
    '../_base_/datasets/imagenet_bs64_paddle.py',
    '../_base_/default_runtime.py',
]

fix_size = 320
resize_size = 365  # int(fix_size * 256 / 224)

train_pipeline = [
    dict(type='mmpretrain.LoadImageFromFile'),
    dict(type='mmpretrain.ResizeEdge', scale=resize_size, edge='short', backend='cv2'),
    dict(type='mmpretrain.CenterCrop', crop_size=fix_size),
    dict(type='mmpretrain.RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='mmpretrain.PackInputs'),
]
test_pipeline = [
    dict(type='mmpretrain.LoadImageFromFile'),
    dict(type='mmpretrain.ResizeEdge', scale=resize_size, edge='short', backend='cv2'),
    dict(type='mmpretrain.CenterCrop', crop_size=fix_size),
    dict(type='mmpretrain.PackInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

max_epochs = 10
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=1e-3, momentum=0.9, weight_decay=1e-4))
param_scheduler = [
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs,
        eta_min=0.0,
        by_epoch=True,
        begin=0,
        end=max_epochs,
        convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=256, enable=False)

custom_hooks = [
    dict(type='FixResHook', trainable=('head', ), update_bn_stats=False),
]
# The hook freezes parameters after DDP wrapped the model: let DDP skip them.
model_wrapper_cfg = dict(type='MMDistributedDataParallel', find_unused_parameters=True)

# The distilled ResNet50_vd (AutoAugment variant, configs/transfer/ shows the
# pipeline) exported by tools/model_converters/extract_student.py.
load_from = 'checkpoints/resnet50_vd_ssld_v2.pth'
