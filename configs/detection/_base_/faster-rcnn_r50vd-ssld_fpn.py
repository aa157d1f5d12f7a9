# Faster R-CNN R50_vd FPN as PaddleDetection's faster_rcnn/_base_/
# faster_rcnn_r50_fpn.yml builds it (which is MMDetection's Faster R-CNN:
# anchors 32..512 x 3 ratios, RPN 256 samples 0.7/0.3, RoIAlign 7 aligned,
# 512 RoIs 25% positive, 2 FC 1024, L1 box losses, NMS 0.5, 100 per image),
# except 2000 (not 1000) training proposals per image (post_nms_top_n).
_base_ = ['mmdet::_base_/models/faster-rcnn_r50_fpn.py', './r50vd-ssld_coco.py']
model = dict(
    backbone=dict(
        **_base_.r50vd_backbone,
        init_cfg=dict(
            type='Pretrained', checkpoint='checkpoints/resnet50_vd_ssld_v2.pth')),
    train_cfg=dict(rpn_proposal=dict(max_per_img=2000)))
