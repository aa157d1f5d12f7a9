# The seed's 640/640 ablation, row 2: the ImageNet-1k ResNet50_vd backbone
# (PaddleClas ResNet50_vd_pretrained, top-1 79.1) with lr_mult_list
# [0.05, 0.05, 0.1, 0.1, 0.15]: COCO box AP 34.3. Convert it with
#   tools/model_converters/paddle_to_mm.py ResNet50_vd_pretrained.pdparams \
#       checkpoints/resnet50_vd_in1k.pth --arch ResNet50_vd
_base_ = './faster-rcnn_r50vd-ssld-lrmult_fpn_640_coco.py'
model = dict(
    backbone=dict(init_cfg=dict(checkpoint='checkpoints/resnet50_vd_in1k.pth')))
