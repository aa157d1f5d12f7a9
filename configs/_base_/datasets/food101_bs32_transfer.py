# Food-101: data/food-101/{images/, meta/train.txt, meta/test.txt}
# (MMPretrain's `mmpretrain.Food101` reads this layout; see its docstring.)
_base_ = ['./transfer_bs32.py']

data_preprocessor = dict(num_classes=101)
train_dataloader = dict(
    dataset=dict(type='mmpretrain.Food101', data_root='data/food-101', split='train'))
val_dataloader = dict(
    dataset=dict(type='mmpretrain.Food101', data_root='data/food-101', split='test'))
test_dataloader = val_dataloader
