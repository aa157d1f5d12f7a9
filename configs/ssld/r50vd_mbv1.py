# SSLD stage 1: ResNet50_vd_ssld (82.4% top-1) teaches MobileNetV1 on ~5M images
# (ImageNet-1k train + teacher-selected unlabeled images, labels unused).
# PaddleClas table: 360 epochs, l2 decay 3e-05, batch 4096/8 GPUs, base lr 1.6,
# cosine decay with warmup; published top-1 after this stage: 77.65%.
# Then run configs/ssld/r50vd_mbv1_ft_in1k.py (stage 2).
#   tools/dist_train.sh configs/ssld/r50vd_mbv1.py 8 \
#       --cfg-options model.teacher_ckpt=checkpoints/ResNet50_vd_ssld_pretrained.pth
_base_ = [
    '../_base_/models/paddleclas/mobilenetv1.py',  # the student
    './_base_/ssld_stage1.py',
]

model = dict(
    _delete_=True,
    student=_base_.model,
    teacher='{{ fileDirname }}/../_base_/models/paddleclas/resnet50_vd.py',
    teacher_ckpt='checkpoints/ResNet50_vd_ssld_pretrained.pth',
    **_base_.distiller)

# 4096 images per step = 8 GPUs x 512; lr 1.6 is for that total batch.
# On another number of GPUs add --auto-scale-lr (lr x actual/4096).
train_dataloader = dict(batch_size=512)
optim_wrapper = dict(optimizer=dict(lr=1.6, weight_decay=3e-05))
auto_scale_lr = dict(base_batch_size=4096)
