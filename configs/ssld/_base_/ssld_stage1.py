# What every SSLD stage-1 recipe of configs/ssld/ shares (PaddleClas tables):
# the distiller settings, ~5M training images (ImageNet-1k train + the unlabeled
# images the teacher selected, labels unused), 360 epochs (5 of linear warmup,
# then cosine to 0) and the runtime. A leaf adds its student (a model `_base_`),
# its teacher, batch size, lr and weight decay:
#
#   _base_ = ['../_base_/models/paddleclas/<student>.py', './_base_/ssld_stage1.py']
#   model = dict(
#       _delete_=True,
#       student=_base_.model,
#       teacher='configs/_base_/models/<teacher>.py',  # a config path or a dict
#       teacher_ckpt='checkpoints/<teacher>.pth',
#       **_base_.distiller)
#
# Teacher checkpoints: converted PaddleClas weights
# (tools/model_converters/paddle_to_mm.py) or any MMPretrain checkpoint;
# override with --cfg-options model.teacher_ckpt=...
_base_ = [
    '../../_base_/datasets/ssld_imagenet_5m.py',
    '../../_base_/schedules/imagenet_cosine_warmup.py',
    '../../_base_/default_runtime.py',
]

distiller = dict(
    type='SSLDDistiller',
    # PaddleClas's "JSDivLoss" (symmetric KL): reproduces the published numbers.
    # dict(type='JSDivLoss') is the true Jensen-Shannon divergence.
    distill_loss=dict(type='SymmetricKLLoss'),
    gt_loss_weight=0.0,  # label-free, as SSLD
    data_preprocessor=_base_.data_preprocessor)

param_scheduler = [
    _base_.param_scheduler[0],  # 5 warmup epochs
    dict(_base_.param_scheduler[1], T_max=355, end=360),
]
train_cfg = dict(max_epochs=360, val_interval=5)
