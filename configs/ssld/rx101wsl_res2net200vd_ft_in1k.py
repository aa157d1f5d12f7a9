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
_base_ = [
    '../_base_/models/paddleclas/res2net200_vd_26w_4s.py',
    '../_base_/datasets/ssld_imagenet_1k_finetune.py',
    '../_base_/schedules/imagenet_cosine_warmup.py',
    '../_base_/default_runtime.py',
]

model = dict(
    _delete_=True,
    type='SSLDDistiller',
    student={{_base_.model}},
    teacher=dict(
        type='mmpretrain.ImageClassifier',
        backbone=dict(type='mmpretrain.ResNeXt', depth=101, groups=32,
                      width_per_group=16, out_indices=(3, )),
        neck=dict(type='mmpretrain.GlobalAveragePooling'),
        head=dict(type='mmpretrain.LinearClsHead', num_classes=1000,
                  in_channels=2048)),
    # converted PaddleClas weights (tools/model_converters/paddle_to_mm.py) or any
    # MMPretrain checkpoint; override with --cfg-options model.teacher_ckpt=...
    teacher_ckpt='checkpoints/ResNeXt101_32x16d_wsl_pretrained.pth',
    # PaddleClas's "JSDivLoss" (symmetric KL): reproduces the published numbers.
    # dict(type='JSDivLoss') is the true Jensen-Shannon divergence.
    distill_loss=dict(type='SymmetricKLLoss'),
    gt_loss_weight=0.0,  # label-free, as SSLD
    data_preprocessor={{_base_.data_preprocessor}})

load_from = 'work_dirs/rx101wsl_res2net200vd/epoch_360.pth'

# 1024 images per step = 32 GPUs x 32; lr 0.004 is for that total batch.
# On another number of GPUs add --auto-scale-lr (lr x actual/1024).
train_dataloader = dict(batch_size=32)
optim_wrapper = dict(optimizer=dict(lr=0.004, weight_decay=4e-05))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=5,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=355, eta_min=0.0,
         by_epoch=True, begin=5, end=360, convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=360, val_interval=5)
auto_scale_lr = dict(base_batch_size=1024, enable=False)
