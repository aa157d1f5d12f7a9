# Oxford 102 Flowers: data/Flowers102/{jpg/, imagelabels.mat, setid.mat}
# (MMPretrain's `mmpretrain.Flowers102` reads this layout; see its docstring.)
_base_ = ['./transfer_bs32.py']

data_preprocessor = dict(num_classes=102)
train_dataloader = dict(
    dataset=dict(
        type='mmpretrain.Flowers102', data_root='data/Flowers102', split='trainval'))
val_dataloader = dict(
    dataset=dict(
        type='mmpretrain.Flowers102', data_root='data/Flowers102', split='test'))
test_dataloader = val_dataloader
