# Describable Textures (split 1): data/dtd/{images/, imdb/imdb.mat}
# (MMPretrain's `mmpretrain.DTD` reads this layout; see its docstring.)
_base_ = ['./transfer_bs32.py']

data_preprocessor = dict(num_classes=47)
train_dataloader = dict(
    dataset=dict(type='mmpretrain.DTD', data_root='data/dtd', split='trainval'))
val_dataloader = dict(
    dataset=dict(type='mmpretrain.DTD', data_root='data/dtd', split='test'))
test_dataloader = val_dataloader
