# SSLD stage 2: distillation fine-tune of the stage-1 MobileNetV2 on ImageNet-1k train
# with the same teacher (ResNet50_vd_ssld (82.4% top-1)) and a small lr.
# PaddleClas table: 30 epochs, l2 decay 1e-05, batch 3072/8 GPUs, base lr 0.0054;
# published top-1: 76.73%.
# Starts from the stage-1 distiller checkpoint (same student.* keys):
#   tools/dist_train.sh configs/ssld/r50vd_mbv2_ft_in1k.py 8 \
#       --cfg-options load_from=work_dirs/r50vd_mbv2/epoch_360.pth
# Export the student for downstream use:
#   python tools/model_converters/extract_student.py \
#       work_dirs/r50vd_mbv2_ft_in1k/epoch_30.pth checkpoints/MobileNetV2_ssld.pth
_base_ = ['./r50vd_mbv2.py']

load_from = 'work_dirs/r50vd_mbv2/epoch_360.pth'

# 3072 images per step = 8 GPUs x 384; lr 0.0054 is for that total batch.
# On another number of GPUs add --auto-scale-lr (lr x actual/3072).
train_dataloader = dict(
    # ImageNet-1k train only: the labeled part of stage 1's data
    dataset=dict(_delete_=True, **_base_.train_dataloader.dataset.datasets[0]))
optim_wrapper = dict(optimizer=dict(lr=0.0054))
param_scheduler = [
    _base_.param_scheduler[0],  # the same 5 warmup epochs
    dict(_base_.param_scheduler[1], T_max=25, end=30),
]
train_cfg = dict(max_epochs=30)
