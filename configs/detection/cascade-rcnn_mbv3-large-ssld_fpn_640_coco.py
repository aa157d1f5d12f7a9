# Cascade R-CNN, MobileNetV3-large x1.0 SSLD backbone, FPN 48 ch, 640 px.
# Reproduces PaddleDetection configs/mobile/cascade_rcnn_mobilenetv3_fpn_640.yml:
# COCO val2017 box AP 30.2 (PaddleDetection's model zoo). Backbone weights: as in
# cascade-rcnn_mbv3-large-ssld_fpn_320_coco.py.
_base_ = './_base_/cascade-rcnn_mbv3-large-ssld_fpn_coco.py'

model = dict(
    # FPNRPNHead anchor_start_size 24: 24 px at P2 (stride 4), doubling per level.
    rpn_head=dict(anchor_generator=dict(scales=[6])),
    # FPNRoIAlign min_level 2, max_level 5.
    roi_head=dict(bbox_roi_extractor=dict(featmap_strides=[4, 8, 16, 32])))

# lr_mult_list [1.0, 1.0, 1.0, 1.0, 1.0]: the base's.

# RandomFlipImage 0.5, AutoAugmentImage v1, ResizeImage target_size 416..672 (short
# side), max_size 1000; test: 640 (short side), max_size 640.
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='ssld_mm.DetAutoAugmentV1'),
    dict(
        type='RandomChoiceResize',
        scales=[(1000, s) for s in range(416, 673, 32)],
        keep_ratio=True),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(640, 640), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
