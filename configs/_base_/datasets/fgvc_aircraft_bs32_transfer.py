# FGVC-Aircraft 2013b (variants): data/fgvc-aircraft-2013b/data/{images/, images_variant_*.txt}
# (MMPretrain's `mmpretrain.FGVCAircraft` reads this layout; see its docstring.)
_base_ = ['./transfer_bs32.py']

data_preprocessor = dict(num_classes=100)
train_dataloader = dict(
    dataset=dict(
        type='mmpretrain.FGVCAircraft',
        data_root='data/fgvc-aircraft-2013b',
        split='trainval'))
val_dataloader = dict(
    dataset=dict(
        type='mmpretrain.FGVCAircraft',
        data_root='data/fgvc-aircraft-2013b',
        split='test'))
test_dataloader = val_dataloader
