# Stored-teacher mode of configs/ssld/r50vd_mbv3.py (FKD-style): the same student,
# schedule and images, but no teacher in the training loop. The student is a plain
# ImageClassifier whose head takes the divergence (SymmetricKLLoss, as the online
# distiller) against the teacher distribution stored for the view it replays.
# 1. Generate the store once (views drawn with this recipe's RandomResizedCrop 224 +
#    RandomFlip; the list is select_topk.py's --out: ImageNet train lines + selected pool):
#      python tools/data/generate_soft_labels.py configs/paddleclas/resnet50_vd.py \
#          checkpoints/ResNet50_vd_ssld_pretrained.pth --train-config configs/ssld/r50vd_mbv3.py \
#          --list data/ssld_5m/train_5m.txt --data-prefix data/ssld_5m --views 10 --topk 10 \
#          --out work_dirs/soft_labels/r50vd_5m
# 2. Train any number of students from it:
#      tools/dist_train.sh configs/ssld_stored/r50vd_mbv3_stored.py 24
# A store made for another list, entry count or crop size stops the run at start-up.
_base_ = ['../ssld/r50vd_mbv3.py']

soft_label_store = 'work_dirs/soft_labels/r50vd_5m'

model = dict(
    _delete_=True,
    type='mmpretrain.ImageClassifier',
    backbone=_base_.model.student.backbone,
    neck=_base_.model.student.neck,
    # the student's head (same layers and keys) with the recipe's divergence
    # against the stored distribution instead of the live teacher
    head=dict(
        _base_.model.student.head,
        type='ssld_mm.SoftLabelPaddleMobileNetV3Head',
        distill_loss=_base_.model.distill_loss,
        gt_loss_weight=_base_.model.gt_loss_weight))
# the Runner gives it to the model; SSLD lists mix labeled and unlabeled lines
data_preprocessor = dict(type='ssld_mm.SSLDDataPreprocessor')

# the switch: ReplayStoredView instead of RandomResizedCrop + RandomFlip
train_pipeline = [
    dict(type='mmpretrain.LoadImageFromFile'),
    dict(type='ssld_mm.ReplayStoredView', store=soft_label_store, scale=224),
    dict(type='mmpretrain.PackInputs'),
]
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='ImageListDataset',
        data_root='data/ssld_5m',
        ann_file='train_5m.txt',
        data_prefix='',
        check_files=False,
        pipeline=train_pipeline))
# sets the replayed epoch (also after --resume); persistent workers see it
custom_hooks = [dict(type='ssld_mm.StoredViewEpochHook')]
