# Stanford Cars: data/Stanford_Cars/{cars_annos.mat, car_ims/} or the devkit layout
# (MMPretrain's `mmpretrain.StanfordCars` reads this layout; see its docstring.)
_base_ = ['./transfer_bs32.py']

data_preprocessor = dict(num_classes=196)
train_dataloader = dict(
    dataset=dict(
        type='mmpretrain.StanfordCars', data_root='data/Stanford_Cars', split='train'))
val_dataloader = dict(
    dataset=dict(
        type='mmpretrain.StanfordCars', data_root='data/Stanford_Cars', split='test'))
test_dataloader = val_dataloader
