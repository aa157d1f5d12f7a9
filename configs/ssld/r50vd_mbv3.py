# SSLD stage 1: ResNet50_vd_ssld (82.4% top-1) teaches MobileNetV3_large_x1_0 on ~5M images
# (ImageNet-1k train + teacher-selected unlabeled images, labels unused).
# PaddleClas table: 360 epochs, l2 decay 1e-05, batch 5760/24 GPUs, base lr 3.65625,
# cosine decay with warmup; published top-1 after this stage: 78.54%.
# Then run configs/ssld/r50vd_mbv3_ft_in1k.py (stage 2).
#   tools/dist_train.sh configs/ssld/r50vd_mbv3.py 24 \
#       --cfg-options model.teacher_ckpt=checkpoints/ResNet50_vd_ssld_pretrained.pth
_base_ = [
    '../_base_/models/paddleclas/mobilenetv3_large_x1_0.py',  # the student
    './_base_/ssld_stage1.py',
]

model = dict(
    _delete_=True,
    student=_base_.model,
    teacher='{{ fileDirname }}/../_base_/models/paddleclas/resnet50_vd.py',
    teacher_ckpt='checkpoints/ResNet50_vd_ssld_pretrained.pth',
    **_base_.distiller)

# 5760 images per step = 24 GPUs x 240; lr 3.65625 is for that total batch.
# On another number of GPUs add --auto-scale-lr (lr x actual/5760).
train_dataloader = dict(batch_size=240)
optim_wrapper = dict(optimizer=dict(lr=3.65625, weight_decay=1e-05))
auto_scale_lr = dict(base_batch_size=5760)
