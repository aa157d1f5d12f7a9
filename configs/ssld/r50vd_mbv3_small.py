# SSLD stage 1: ResNet50_vd_ssld (82.4% top-1) teaches MobileNetV3_small_x1_0 on ~5M images
# (ImageNet-1k train + teacher-selected unlabeled images, labels unused).
# PaddleClas table: 360 epochs, l2 decay 1e-05, batch 5760/24 GPUs, base lr 3.65625,
# cosine decay with warmup; published top-1 after this stage: 70.11%.
# Then run configs/ssld/r50vd_mbv3_small_ft_in1k.py (stage 2).
#   tools/dist_train.sh configs/ssld/r50vd_mbv3_small.py 24 \
#       --cfg-options model.teacher_ckpt=checkpoints/ResNet50_vd_ssld_pretrained.pth
_base_ = [
    '../_base_/models/paddleclas/mobilenetv3_small_x1_0.py',
    '../_base_/datasets/ssld_imagenet_5m.py',
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

# 5760 images per step = 24 GPUs x 240; lr 3.65625 is for that total batch.
# On another number of GPUs add --auto-scale-lr (lr x actual/5760).
train_dataloader = dict(batch_size=240)
optim_wrapper = dict(optimizer=dict(lr=3.65625, weight_decay=1e-05))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=5,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=355, eta_min=0.0,
         by_epoch=True, begin=5, end=360, convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=360, val_interval=5)
auto_scale_lr = dict(base_batch_size=5760, enable=False)
