# Cascade R-CNN R50_vd FPN as PaddleDetection's cascade_rcnn/_base_/
# cascade_rcnn_r50_fpn.yml and cascade_head.py build it: MMDetection's Cascade
# R-CNN (IoU 0.5/0.6/0.7, class-agnostic boxes, scores averaged over stages)
# with Paddle's L1 box losses (RPN and RoI stages), equal stage loss weights
# (1/3 each), and cascade_rcnn/_base_/optimizer_1x.yml: warmup from 0.001 and
# gradient clipping at norm 35.
_base_ = ['mmdet::_base_/models/cascade-rcnn_r50_fpn.py', './r50vd-ssld_coco.py']
model = dict(
    backbone=dict(
        **_base_.r50vd_backbone,
        init_cfg=dict(
            type='Pretrained', checkpoint='checkpoints/resnet50_vd_ssld_v2.pth')),
    rpn_head=dict(loss_bbox=dict(_delete_=True, type='L1Loss', loss_weight=1.0)),
    roi_head=dict(
        stage_loss_weights=[1 / 3, 1 / 3, 1 / 3],
        bbox_head=[
            dict(head, loss_bbox=dict(type='L1Loss', loss_weight=1.0))
            for head in _base_.model.roi_head.bbox_head
        ]))
optim_wrapper = dict(clip_grad=dict(max_norm=35, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=1000),
    dict(
        type='MultiStepLR',
        begin=0,
        end=12,
        by_epoch=True,
        milestones=[8, 11],
        gamma=0.1)
]
