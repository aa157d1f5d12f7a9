# Shared part of cascade-rcnn_mbv3-large-ssld_fpn_{320,640}_coco.py: PaddleDetection's
# configs/mobile/cascade_rcnn_mobilenetv3_fpn_{320,640}.yml (static graph,
# MobileNetV3RCNN, MobileNetV3_large_x1_0 SSLD weights). The leaves set what differs
# between the two: image scales, anchor size, RoI levels and lr_mult_list. Each setting
# below is PaddleDetection's; what MMDetection cannot express exactly is listed in
# docs/detection.md.
_base_ = [
    'mmdet::_base_/models/cascade-rcnn_r50_fpn.py',
    'mmdet::_base_/datasets/coco_detection.py',
    'mmdet::_base_/default_runtime.py',
]
default_scope = 'mmdet'
custom_imports = dict(imports=['ssld_mm'], allow_failed_imports=False)
# SSLDRunner applies ssld_mm.utils.setup_runtime() (safe checkpoint loading, atomic
# saves, resume from the newest complete checkpoint) under any train.py, also
# MMPretrain's and MMDetection's; importing ssld_mm alone changes nothing.
runner_type = 'ssld_mm.SSLDRunner'

model = dict(
    # MobileNetV3RCNN(model_name=large, scale=1.0, feature_maps=[2, 3, 4],
    # freeze_norm=true): the taps are the 1x1 expansion convs of blocks 3/6/12
    # (72/240/672 ch, strides 4/8/16).
    backbone=dict(
        _delete_=True,
        type='ssld_mm.PaddleMobileNetV3',
        arch='large',
        scale=1.0,
        feature_maps=[2, 3, 4],
        norm_cfg=dict(type='BN', eps=1e-5, requires_grad=False),
        norm_eval=True,
        # A paddle_to_mm.py conversion of MobileNetV3_large_x1_0_ssld or an
        # extract_student.py output, loaded strictly (backbone keys found by
        # themselves); switch with
        # --cfg-options model.backbone.init_cfg.checkpoint=PATH
        init_cfg=dict(
            type='Pretrained',
            checkpoint='checkpoints/MobileNetV3_large_x1_0_ssld.pth')),
    # FPN num_chan 48, min_level 2, max_level 6, has_extra_convs: P5 and P6 are stride-2
    # 3x3 convs on the last backbone tap, ReLU before the second (Paddle's FPN extra
    # convs).
    neck=dict(
        in_channels=[72, 240, 672],
        out_channels=48,
        num_outs=5,
        add_extra_convs='on_input',
        relu_before_extra_convs=True),
    rpn_head=dict(in_channels=48, feat_channels=48),
    roi_head=dict(
        # FPNRoIAlign box_resolution 7, sampling_ratio 2; canonical size/level map to
        # finest_scale 56 (the default) at both resolutions. Paddle 1.x's roi_align
        # has no half-pixel offset (aligned=False).
        bbox_roi_extractor=dict(
            roi_layer=dict(sampling_ratio=2, aligned=False), out_channels=48),
        # CascadeTwoFCHead mlp_dim 128, class-agnostic regression, BalancedL1Loss
        # (alpha 0.5, gamma 1.5, beta 1.0), bbox_reg_weights [10, 20, 30].
        bbox_head=[
            dict(
                type='Shared2FCBBoxHead',
                in_channels=48,
                fc_out_channels=128,
                roi_feat_size=7,
                num_classes=80,
                bbox_coder=dict(
                    type='DeltaXYWHBBoxCoder',
                    target_means=[0.0, 0.0, 0.0, 0.0],
                    target_stds=stds),
                reg_class_agnostic=True,
                loss_cls=dict(
                    type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
                loss_bbox=dict(
                    type='BalancedL1Loss',
                    alpha=0.5,
                    gamma=1.5,
                    beta=1.0,
                    loss_weight=1.0))
            for stds in ([0.1, 0.1, 0.2, 0.2], [0.05, 0.05, 0.1, 0.1],
                         [0.033, 0.033, 0.067, 0.067])
        ]),
    # test_proposal: pre_nms_top_n 300, post_nms_top_n 100 (train: 2000/2000, the
    # default).
    test_cfg=dict(rpn=dict(nms_pre=300, max_per_img=100)))

# LearningRate: base_lr 0.02, LinearWarmup(start_factor 0.1, 500 steps), CosineDecay
# over max_iters 500000; batch 2 per GPU on 8 GPUs (16 images per step); snapshot every
# 50000.
max_iters = 500000
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=50000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=500),
    dict(
        type='CosineAnnealingLR',
        T_max=max_iters,
        eta_min=0.0,
        by_epoch=False,
        begin=0,
        end=max_iters)
]
# Momentum 0.9, global L2 4e-5. Backbone: conv_decay 1e-5 (0.25 x 4e-5, SE conv biases
# included), norm_decay 0 (its BN is frozen anyway), lr_mult_list per stage group (set
# in the leaves; PaddleDetection's rule: stem and blocks 0-2 -> m0, 3-5 -> m1, 6-8 ->
# m2, 9-11 -> m3, 12-14 -> m4). FPN, RPN and RoI-head biases: lr x2, no decay. Cascade
# stage i's head: lr x 1/stage_loss_weight[i] (x1, x2, x4; its biases x2, x4, x8).
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=4e-5),
    constructor='ssld_mm.LayerwiseLROptimWrapperConstructor',
    paramwise_cfg=dict(
        lr_mult_list=[1.0, 1.0, 1.0, 1.0, 1.0],
        bias_lr_mult=2.0,
        bias_decay_mult=0.0,
        custom_keys={
            'backbone.': dict(decay_mult=0.25),
            'roi_head.bbox_head.1.': dict(lr_mult=2.0),
            'roi_head.bbox_head.2.': dict(lr_mult=4.0),
            **{
                f'roi_head.bbox_head.{stage}.{layer}.bias':
                dict(lr_mult=2.0**(stage + 1), decay_mult=0.0)
                for stage in (1, 2)
                for layer in ('shared_fcs.0', 'shared_fcs.1', 'fc_cls', 'fc_reg')
            }
        }))
auto_scale_lr = dict(enable=False, base_batch_size=16)

train_dataloader = dict(
    batch_size=2, num_workers=2, sampler=dict(type='InfiniteSampler', shuffle=True))

default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(by_epoch=False, interval=50000, max_keep_ckpts=3))
log_processor = dict(by_epoch=False)
