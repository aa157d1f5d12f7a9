# SSLD stage 2: distillation fine-tune of the stage-1 MobileNetV3_large_x1_0 on ImageNet-1k train
# with the same teacher (ResNet50_vd_ssld (82.4% top-1)) and a small lr.
# PaddleClas table: 30 epochs, l2 decay 1e-05, batch 2048/8 GPUs, base lr 0.008;
# published top-1: 78.96%.
# Starts from the stage-1 distiller checkpoint (same student.* keys):
#   tools/dist_train.sh configs/ssld/r50vd_mbv3_ft_in1k.py 8 \
#       --cfg-options load_from=work_dirs/r50vd_mbv3/epoch_360.pth
# Export the student for downstream use:
#   python tools/model_converters/extract_student.py \
#       work_dirs/r50vd_mbv3_ft_in1k/epoch_30.pth checkpoints/MobileNetV3_large_x1_0_ssld.pth
_base_ = [
    '../_base_/models/paddleclas/mobilenetv3_large_x1_0.py',
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
        backbone=dict(type='mmpretrain.ResNetV1d', depth=50, out_indices=(3, )),
        neck=dict(type='mmpretrain.GlobalAveragePooling'),
        head=dict(type='mmpretrain.LinearClsHead', num_classes=1000,
                  in_channels=2048)),
    # converted PaddleClas weights (tools/model_converters/paddle_to_mm.py) or any
    # MMPretrain checkpoint; override with --cfg-options model.teacher_ckpt=...
    teacher_ckpt='checkpoints/ResNet50_vd_ssld_pretrained.pth',
    # PaddleClas's "JSDivLoss" (symmetric KL): reproduces the published numbers.
    # dict(type='JSDivLoss') is the true Jensen-Shannon divergence.
    distill_loss=dict(type='SymmetricKLLoss'),
    gt_loss_weight=0.0,  # label-free, as SSLD
    data_preprocessor={{_base_.data_preprocessor}})

load_from = 'work_dirs/r50vd_mbv3/epoch_360.pth'

# 2048 images per step = 8 GPUs x 256; lr 0.008 is for that total batch.
# On another number of GPUs add --auto-scale-lr (lr x actual/2048).
train_dataloader = dict(batch_size=256)
optim_wrapper = dict(optimizer=dict(lr=0.008, weight_decay=1e-05))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=5,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=25, eta_min=0.0,
         by_epoch=True, begin=5, end=30, convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=30, val_interval=5)
auto_scale_lr = dict(base_batch_size=2048, enable=False)
