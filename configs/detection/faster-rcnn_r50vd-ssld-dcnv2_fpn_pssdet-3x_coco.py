# Reproduces PaddleDetection configs/rcnn_enhance/faster_rcnn_enhance_3x_coco.yml
# (PSS-DET, "Practical Server Side Detection"; _base_/faster_rcnn_enhance.yml,
# _base_/faster_rcnn_enhance_reader.yml, _base_/optimizer_3x.yml):
# COCO val2017 box AP 41.5 (41.6 in the rcnn_enhance README table).
# On top of the Faster R-CNN R50_vd SSLD recipe: DCNv2 in res3-res5, FPN with
# 64 channels (RPN and RoI head 64 wide), Libra R-CNN sampling of the RoIs,
# CIoU box loss (weight 10, on decoded boxes), 500/300 test proposals,
# multi-scale training 384..672 (long side <= 1000) with PaddleDetection's
# bbox-aware AutoAugment v1, test at 640x640, 8 GPUs x 2 images, lr 0.02,
# 36 epochs with steps at 24 and 33.
#   tools/dist_train.sh \
#       configs/detection/faster-rcnn_r50vd-ssld-dcnv2_fpn_pssdet-3x_coco.py 8
# Not reproduced exactly: Paddle's warmup starts at lr 0 (start_factor 0);
# MMEngine's LinearLR divides by its start factor, so it starts at 0.001.
_base_ = './faster-rcnn_r50vd-ssld_fpn_1x_coco.py'
model = dict(
    backbone=dict(
        dcn=dict(type='DCNv2', deform_groups=1, fallback_on_stride=False),
        stage_with_dcn=(False, True, True, True)),
    neck=dict(out_channels=64),
    rpn_head=dict(in_channels=64, feat_channels=64),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=64),
        bbox_head=dict(
            in_channels=64,
            reg_decoded_bbox=True,
            loss_bbox=dict(_delete_=True, type='CIoULoss', loss_weight=10.0))),
    train_cfg=dict(
        rcnn=dict(
            sampler=dict(
                _delete_=True,
                type='CombinedSampler',
                num=512,
                pos_fraction=0.25,
                add_gt_as_proposals=True,
                pos_sampler=dict(type='InstanceBalancedPosSampler'),
                neg_sampler=dict(
                    type='IoUBalancedNegSampler',
                    floor_thr=-1,
                    floor_fraction=0,
                    num_bins=3)))),
    test_cfg=dict(rpn=dict(nms_pre=500, max_per_img=300)))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='RandomChoiceResize',
        scales=[(1000, s) for s in range(384, 673, 32)],
        keep_ratio=True,
        interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='ssld_mm.DetAutoAugmentV1'),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(640, 640), keep_ratio=True, interpolation='bicubic'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
train_dataloader = dict(batch_size=2, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

optim_wrapper = dict(optimizer=dict(lr=0.02))
train_cfg = dict(max_epochs=36)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=1000),
    dict(
        type='MultiStepLR',
        begin=0,
        end=36,
        by_epoch=True,
        milestones=[24, 33],
        gamma=0.1)
]
auto_scale_lr = dict(base_batch_size=16)
