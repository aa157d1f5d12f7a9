# Tiny SSLD distillation for tool tests: 16-channel teacher -> 8-channel student.
# Tests set model.teacher_ckpt and the data roots via --cfg-options.
_base_ = ['./tiny_cls.py']

student = dict(
    type='mmpretrain.ImageClassifier',
    backbone=dict(
        type='mmpretrain.ResNet',
        depth=18,
        stem_channels=8,
        base_channels=8,
        out_indices=(3, )),
    neck=dict(type='mmpretrain.GlobalAveragePooling'),
    head=dict(
        type='mmpretrain.LinearClsHead',
        num_classes=3,
        in_channels=64,
        loss=dict(type='mmpretrain.CrossEntropyLoss'),
        topk=(1, )))
teacher = dict(
    type='mmpretrain.ImageClassifier',
    backbone=dict(
        type='mmpretrain.ResNet',
        depth=18,
        stem_channels=16,
        base_channels=16,
        out_indices=(3, )),
    neck=dict(type='mmpretrain.GlobalAveragePooling'),
    head=dict(type='mmpretrain.LinearClsHead', num_classes=3, in_channels=128))

model = dict(
    _delete_=True,
    type='SSLDDistiller',
    student=student,
    teacher=teacher,
    teacher_ckpt='checkpoints/tiny_teacher.pth',
    distill_loss=dict(type='JSDivLoss'),
    gt_loss_weight=0.0,
    data_preprocessor=dict(
        num_classes=3, mean=[127.5] * 3, std=[127.5] * 3, to_rgb=True))

custom_hooks = [dict(type='TeacherAccuracyHook', topk=(1, ))]
