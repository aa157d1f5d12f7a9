# SSLD stage 1 on L + U: the LeNet-5 student learns the frozen demo teacher's
# soft predictions on L and the unlabeled pool U (all 60000 training images by
# default) for 3 epochs, no label used. Stage 2: configs/demo/lenet5_fmnist_finetune.py.
#   python tools/train.py configs/demo/ssld_lenet5_fmnist_unlabeled.py
# after configs/demo/teacher_resnet18_fmnist.py (teacher_ckpt below).
_base_ = ['./ssld_lenet5_fmnist_labeled.py']

train_dataloader = dict(
    batch_size=64,
    dataset=dict(
        _delete_=True,
        type='ConcatDataset',
        datasets=[
            dict(
                type='UnlabeledDataset',
                dataset={{_base_.fmnist_train}},
                indices={{_base_.labeled_idx}}),
            dict(
                type='UnlabeledDataset',
                dataset={{_base_.fmnist_train}},
                indices={{_base_.unlabeled_idx}}),
        ]))

param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=3, by_epoch=True, convert_to_iter_based=True)
]
train_cfg = dict(by_epoch=True, max_epochs=3, val_interval=1)
