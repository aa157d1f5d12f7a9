# Reproduces PaddleDetection configs/ssld/cascade_rcnn_r50_vd_fpn_ssld_2x_coco.yml
# (24 epochs, steps at 12 and 22, warmup from 0.1 as that file sets):
# COCO val2017 box AP 45.0.
_base_ = './cascade-rcnn_r50vd-ssld_fpn_1x_coco.py'
train_cfg = dict(max_epochs=24)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=1000),
    dict(
        type='MultiStepLR',
        begin=0,
        end=24,
        by_epoch=True,
        milestones=[12, 22],
        gamma=0.1)
]
