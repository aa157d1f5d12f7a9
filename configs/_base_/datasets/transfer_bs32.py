# Shared transfer preprocessing of configs/_base_/datasets/*_bs32_transfer.py,
# as PaddleClas's fine-tune configs: train RandCrop 224 + flip, test resize
# short 256 + center crop 224, ImageNet mean/std (the pretrained backbone's
# normalisation). Total batch 32. Each dataset file sets type, root, splits and
# num_classes.
data_preprocessor = dict(
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True,
)

train_pipeline = [
    dict(type='mmpretrain.LoadImageFromFile'),
    dict(type='mmpretrain.RandomResizedCrop', scale=224, backend='cv2'),
    dict(type='mmpretrain.RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='mmpretrain.PackInputs'),
]

test_pipeline = [
    dict(type='mmpretrain.LoadImageFromFile'),
    dict(type='mmpretrain.ResizeEdge', scale=256, edge='short', backend='cv2'),
    dict(type='mmpretrain.CenterCrop', crop_size=224),
    dict(type='mmpretrain.PackInputs'),
]

train_dataloader = dict(
    batch_size=32,
    num_workers=4,
    dataset=dict(
        type=None,  # set by the dataset file
        data_root=None,
        split='train',
        pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
)

val_dataloader = dict(
    batch_size=64,
    num_workers=4,
    dataset=dict(
        type=None,  # set by the dataset file
        data_root=None,
        split='test',
        pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
val_evaluator = dict(type='mmpretrain.Accuracy', topk=(1, 5))

test_dataloader = val_dataloader
test_evaluator = val_evaluator
