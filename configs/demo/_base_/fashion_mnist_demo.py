# Fashion-MNIST for `make demo` (tools/demo/run_demo.py): 28x28 grey images
# resized to 32x32 (LeNet-5's input size). The training images are split into
# a labeled subset L and an unlabeled pool U by two disjoint index files that
# tools/demo/prepare_data.py writes; the 10000 test images are only evaluated.
data_root = 'data/fashion_mnist'
labeled_idx = 'data/fashion_mnist/labeled_idx.txt'
unlabeled_idx = 'data/fashion_mnist/unlabeled_idx.txt'

# Fashion-MNIST pixel mean / std (0.2860, 0.3530) x 255, one channel.
data_preprocessor = dict(
    type='mmpretrain.ClsDataPreprocessor',
    num_classes=10,
    mean=[72.94],
    std=[90.02],
    to_rgb=False)

train_pipeline = [
    dict(type='mmpretrain.Resize', scale=32),
    dict(type='mmpretrain.RandomCrop', crop_size=32, padding=2),
    dict(type='mmpretrain.RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='mmpretrain.PackInputs'),
]
test_pipeline = [
    dict(type='mmpretrain.Resize', scale=32),
    dict(type='mmpretrain.PackInputs'),
]

# MMPretrain 1.2's FashionMNIST picks its files by `test_mode`, not `split`.
fmnist_train = dict(
    type='mmpretrain.FashionMNIST',
    data_root=data_root,
    split='train',
    test_mode=False,
    download=False,
    pipeline=train_pipeline)
fmnist_test = dict(
    type='mmpretrain.FashionMNIST',
    data_root=data_root,
    split='test',
    test_mode=True,
    download=False,
    pipeline=test_pipeline)

# L with its labels (teacher and label-only student).
train_dataloader = dict(
    batch_size=64,
    num_workers=0,
    drop_last=True,  # LeNet5 squeezes its features: no batch of one
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='SubsetDataset', dataset=fmnist_train, indices=labeled_idx))
val_dataloader = dict(
    batch_size=500,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=fmnist_test)
val_evaluator = dict(type='mmpretrain.Accuracy', topk=(1, ))
test_dataloader = val_dataloader
test_evaluator = val_evaluator
