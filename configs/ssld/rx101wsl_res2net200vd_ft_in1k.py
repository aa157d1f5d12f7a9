# SSLD stage 2: distillation fine-tune of the stage-1 Res2Net200_vd_26w_4s on ImageNet-1k train
# with the same teacher (ResNeXt101_32x16d_wsl (84.2% top-1)) and a small lr.
# PaddleClas table: 360 epochs, l2 decay 4e-05, batch 1024/32 GPUs, base lr 0.004;
# published top-1: 85.13%.
# (360 fine-tune epochs as both the Chinese and English PaddleClas tables say.)
# Starts from the stage-1 distiller checkpoint (same student.* keys):
#   tools/dist_train.sh configs/ssld/rx101wsl_res2net200vd_ft_in1k.py 32 \
#       --cfg-options load_from=work_dirs/rx101wsl_res2net200vd/epoch_360.pth
# Export the student for downstream use:
#   python tools/model_converters/extract_student.py \
#       work_dirs/rx101wsl_res2net200vd_ft_in1k/epoch_360.pth checkpoints/Res2Net200_vd_26w_4s_ssld.pth
_base_ = ['./rx101wsl_res2net200vd.py']

load_from = 'work_dirs/rx101wsl_res2net200vd/epoch_360.pth'

# 1024 images per step = 32 GPUs x 32; lr 0.004 is for that total batch.
# On another number of GPUs add --auto-scale-lr (lr x actual/1024).
train_dataloader = dict(
    # ImageNet-1k train only: the labeled part of stage 1's data
    dataset=dict(_delete_=True, **_base_.train_dataloader.dataset.datasets[0]))
optim_wrapper = dict(optimizer=dict(lr=0.004))
