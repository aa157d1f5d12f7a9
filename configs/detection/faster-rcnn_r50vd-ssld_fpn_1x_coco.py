# Reproduces PaddleDetection configs/ssld/faster_rcnn_r50_vd_fpn_ssld_1x_coco.yml
# (ResNet50_vd_ssld_v2 backbone, Faster R-CNN FPN, 1x): COCO val2017 box AP 41.4.
# 8 GPUs x 1 image, lr 0.01, lr_mult_list [0.05, 0.05, 0.05, 0.1, 0.15]:
#   tools/dist_train.sh configs/detection/faster-rcnn_r50vd-ssld_fpn_1x_coco.py 8
# Backbone weights (ssld_mm classifier, extract_student.py or paddle_to_mm.py
# output of either --format): model.backbone.init_cfg.checkpoint.
_base_ = './_base_/faster-rcnn_r50vd-ssld_fpn.py'
