# CIFAR-10 (python version): data/cifar10/cifar-10-python/ (MMPretrain's
# `mmpretrain.CIFAR10` downloads it there when it is missing).
# The 32x32 images are upsampled to the pretrained backbone's 224 input, as in
# "Do Better ImageNet Models Transfer Better?"; they are RGB arrays (no file
# to load, to_rgb=False) normalised with ImageNet mean/std. Total batch 32.
dataset_type = 'mmpretrain.CIFAR10'
data_root = 'data/cifar10'
num_classes = 10
data_preprocessor = dict(
    num_classes=num_classes,
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=False,
)

train_pipeline = [
    dict(type='mmpretrain.RandomResizedCrop', scale=224, backend='cv2'),
    dict(type='mmpretrain.RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='mmpretrain.PackInputs'),
]

test_pipeline = [
    dict(type='mmpretrain.ResizeEdge', scale=256, edge='short', backend='cv2'),
    dict(type='mmpretrain.CenterCrop', crop_size=224),
    dict(type='mmpretrain.PackInputs'),
]

train_dataloader = dict(
    batch_size=32,
    num_workers=4,
    dataset=dict(
        type=dataset_type, data_root=data_root, split='train', pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
)

val_dataloader = dict(
    batch_size=64,
    num_workers=4,
    dataset=dict(
        type=dataset_type, data_root=data_root, split='test', pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
val_evaluator = dict(type='mmpretrain.Accuracy', topk=(1, 5))

test_dataloader = val_dataloader
test_evaluator = val_evaluator
