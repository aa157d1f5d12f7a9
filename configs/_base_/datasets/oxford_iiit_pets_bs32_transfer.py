# Oxford-IIIT Pets: data/Oxford-IIIT_Pets/{images/, annotations/trainval.txt, annotations/test.txt}
# (MMPretrain's `mmpretrain.OxfordIIITPet` reads this layout; see its docstring.)
_base_ = ['./transfer_bs32.py']

data_preprocessor = dict(num_classes=37)
train_dataloader = dict(
    dataset=dict(
        type='mmpretrain.OxfordIIITPet',
        data_root='data/Oxford-IIIT_Pets',
        split='trainval'))
val_dataloader = dict(
    dataset=dict(
        type='mmpretrain.OxfordIIITPet',
        data_root='data/Oxford-IIIT_Pets',
        split='test'))
test_dataloader = val_dataloader
