# SSLD stage-2 training set: ImageNet-1k train only (the "ImageNet-1k distillation
# fine-tune" of PaddleClas), as an image list so it reads MMPretrain's meta/train.txt.
_base_ = ['./imagenet_bs64_paddle.py']

train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='ImageListDataset',
        data_root='data/imagenet',
        ann_file='meta/train.txt',
        data_prefix='train',
        labeled=True,
        check_files=False,
        pipeline={{_base_.train_pipeline}}))
