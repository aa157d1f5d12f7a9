# SSLD stage 1: ResNeXt101_32x16d_wsl (84.2% top-1) teaches ResNet50_vd on ~5M images
# (ImageNet-1k train + teacher-selected unlabeled images, labels unused).
# PaddleClas table: 360 epochs, l2 decay 7e-05, batch 1024/32 GPUs, base lr 0.4,
# cosine decay with warmup; published top-1 after this stage: 82.07%.
# Then run configs/ssld/rx101wsl_r50vd_ft_in1k.py (stage 2).
#   tools/dist_train.sh configs/ssld/rx101wsl_r50vd.py 32 \
#       --cfg-options model.teacher_ckpt=checkpoints/ResNeXt101_32x16d_wsl_pretrained.pth
_base_ = [
    '../_base_/models/paddleclas/resnet50_vd.py',  # the student
    './_base_/ssld_stage1.py',
]

model = dict(
    _delete_=True,
    student=_base_.model,
    teacher='{{ fileDirname }}/../_base_/models/resnext101_32x16d_wsl.py',
    teacher_ckpt='checkpoints/ResNeXt101_32x16d_wsl_pretrained.pth',
    **_base_.distiller)

# 1024 images per step = 32 GPUs x 32; lr 0.4 is for that total batch.
# On another number of GPUs add --auto-scale-lr (lr x actual/1024).
train_dataloader = dict(batch_size=32)
optim_wrapper = dict(optimizer=dict(lr=0.4, weight_decay=7e-05))
auto_scale_lr = dict(base_batch_size=1024)
