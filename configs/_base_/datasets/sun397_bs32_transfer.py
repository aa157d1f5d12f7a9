# SUN397 (partition 01): data/SUN397/{SUN397/, Partitions/Training_01.txt, Partitions/Testing_01.txt}
# (MMPretrain's `mmpretrain.SUN397` reads this layout; see its docstring.)
_base_ = ['./transfer_bs32.py']

data_preprocessor = dict(num_classes=397)
train_dataloader = dict(
    dataset=dict(type='mmpretrain.SUN397', data_root='data/SUN397', split='train'))
val_dataloader = dict(
    dataset=dict(type='mmpretrain.SUN397', data_root='data/SUN397', split='test'))
test_dataloader = val_dataloader
