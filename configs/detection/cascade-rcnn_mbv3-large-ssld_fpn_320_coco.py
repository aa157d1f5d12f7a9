# Cascade R-CNN, MobileNetV3-large x1.0 SSLD backbone, FPN 48 ch, 320 px.
# Reproduces PaddleDetection configs/mobile/cascade_rcnn_mobilenetv3_fpn_320.yml:
# COCO val2017 box AP 25.0 (PaddleDetection's model zoo). Backbone weights:
#   python tools/model_converters/paddle_to_mm.py \
#       --arch MobileNetV3_large_x1_0_ssld \
#       MobileNetV3_large_x1_0_ssld_pretrained.pdparams \
#       checkpoints/MobileNetV3_large_x1_0_ssld.pth
# or an ssld_mm student (tools/model_converters/extract_student.py) via
#   --cfg-options model.backbone.init_cfg.checkpoint=PATH
_base_ = './_base_/cascade-rcnn_mbv3-large-ssld_fpn_coco.py'

model = dict(
    # FPNRPNHead anchor_start_size 16: 16 px at P2 (stride 4), doubling per level.
    rpn_head=dict(anchor_generator=dict(scales=[4])),
    # FPNRoIAlign min_level 2, max_level 4.
    roi_head=dict(bbox_roi_extractor=dict(featmap_strides=[4, 8, 16])))

optim_wrapper = dict(paramwise_cfg=dict(lr_mult_list=[0.25, 0.25, 0.5, 0.5, 0.75]))

# RandomFlipImage 0.5, AutoAugmentImage v1, ResizeImage target_size 224..384 (short
# side), max_size 512; test: 320 (short side), max_size 320.
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='ssld_mm.DetAutoAugmentV1'),
    dict(
        type='RandomChoiceResize',
        scales=[(512, s) for s in (224, 256, 288, 320, 352, 384)],
        keep_ratio=True),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(320, 320), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
