# Reproduces PaddleDetection configs/ssld/cascade_rcnn_r50_vd_fpn_ssld_1x_coco.yml
# (ResNet50_vd_ssld_v2 backbone, Cascade R-CNN FPN, 1x): COCO val2017 box AP 44.4.
# 8 GPUs x 1 image, lr 0.01, lr_mult_list [0.05, 0.05, 0.05, 0.1, 0.15]:
#   tools/dist_train.sh configs/detection/cascade-rcnn_r50vd-ssld_fpn_1x_coco.py 8
_base_ = './_base_/cascade-rcnn_r50vd-ssld_fpn.py'
