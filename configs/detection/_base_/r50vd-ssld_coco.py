# Shared by every R50_vd detection config: what PaddleDetection's
# configs/ssld/*_r50_vd_fpn_ssld_*_coco.yml have in common (checked against
# datasets/coco_detection.yml, runtime.yml, faster_rcnn/_base_/optimizer_1x.yml
# and faster_rcnn/_base_/faster_fpn_reader.yml of PaddleDetection 2.x):
# 8 GPUs x 1 image, SGD momentum 0.9, L2 1e-4, lr 0.01, linear warmup from 0.1
# over 1000 iterations, 12 epochs with steps at 8 and 11, multi-scale training
# (short side 640..800 step 32, long side <= 1333), test at 800/1333, bicubic
# resizing (Paddle interp=2), ImageNet mean/std, padding to a multiple of 32.
# A detector base (faster/cascade) inherits an MMDetection model base and this
# file; its `model.backbone` is `r50vd_backbone` + init_cfg.
_base_ = [
    'mmdet::_base_/datasets/coco_detection.py',
    'mmdet::_base_/schedules/schedule_1x.py', 'mmdet::_base_/default_runtime.py'
]
default_scope = 'mmdet'
custom_imports = dict(imports=['ssld_mm'], allow_failed_imports=False)
# SSLDRunner applies ssld_mm.utils.setup_runtime() (safe checkpoint loading, atomic
# saves, resume from the newest complete checkpoint) under any train.py, also
# MMPretrain's and MMDetection's; importing ssld_mm alone changes nothing.
runner_type = 'ssld_mm.SSLDRunner'

# PaddleDetection ResNet(depth=50, variant='d', freeze_at=0, freeze_norm=True):
# ResNet-D stem and avg-pool shortcut, stem + res2 frozen, BN frozen (affine
# and statistics). Detector bases add init_cfg=dict(type='Pretrained',
# checkpoint=...) -- the one place the backbone weights are set.
r50vd_backbone = dict(
    _delete_=True,
    type='ssld_mm.SSLDResNetV1d',
    depth=50,
    num_stages=4,
    out_indices=(0, 1, 2, 3),
    frozen_stages=1,
    norm_cfg=dict(type='BN', requires_grad=False),
    norm_eval=True,
    style='pytorch')

# lr_mult_list [0.05, 0.05, 0.1, 0.15] on res2..res5 in PaddleDetection; the
# stem and res2 are frozen, so the stem entry only matters when unfrozen.
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0001),
    constructor='ssld_mm.LayerwiseLROptimWrapperConstructor',
    paramwise_cfg=dict(lr_mult_list=[0.05, 0.05, 0.05, 0.1, 0.15]))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=1000),
    dict(
        type='MultiStepLR',
        begin=0,
        end=12,
        by_epoch=True,
        milestones=[8, 11],
        gamma=0.1)
]
auto_scale_lr = dict(enable=False, base_batch_size=8)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='RandomChoiceResize',
        scales=[(1333, 640), (1333, 672), (1333, 704), (1333, 736), (1333, 768),
                (1333, 800)],
        keep_ratio=True,
        interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(1333, 800), keep_ratio=True, interpolation='bicubic'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
train_dataloader = dict(batch_size=1, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
