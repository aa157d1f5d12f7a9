# Caltech-101 (101 classes + background): data/caltech-101/{101_ObjectCategories/, meta/train.txt, meta/test.txt}
# (MMPretrain's `mmpretrain.Caltech101` reads this layout; see its docstring.)
_base_ = ['./transfer_bs32.py']

data_preprocessor = dict(num_classes=102)
train_dataloader = dict(
    dataset=dict(
        type='mmpretrain.Caltech101', data_root='data/caltech-101', split='train'))
val_dataloader = dict(
    dataset=dict(
        type='mmpretrain.Caltech101', data_root='data/caltech-101', split='test'))
test_dataloader = val_dataloader
