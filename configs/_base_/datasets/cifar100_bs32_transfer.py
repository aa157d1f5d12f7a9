# CIFAR-100 (python version): data/cifar100/cifar-100-python/ (MMPretrain's
# `mmpretrain.CIFAR100` downloads it there when it is missing).
# Same preprocessing as CIFAR-10 (see cifar10_bs32_transfer.py).
_base_ = ['./cifar10_bs32_transfer.py']

data_preprocessor = dict(num_classes=100)
train_dataloader = dict(
    dataset=dict(type='mmpretrain.CIFAR100', data_root='data/cifar100'))
val_dataloader = dict(
    dataset=dict(type='mmpretrain.CIFAR100', data_root='data/cifar100'))
test_dataloader = val_dataloader
