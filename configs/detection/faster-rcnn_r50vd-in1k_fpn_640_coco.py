# The seed's 640/640 ablation, row 1: the ImageNet-1k ResNet50_vd backbone
# with one lr for all stages (lr_mult_list all 1.0): COCO box AP 34.8.
_base_ = './faster-rcnn_r50vd-in1k-lrmult_fpn_640_coco.py'
optim_wrapper = dict(paramwise_cfg=dict(lr_mult_list=[1.0, 1.0, 1.0, 1.0, 1.0]))
