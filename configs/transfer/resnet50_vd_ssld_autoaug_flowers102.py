# The AutoAugment variant of the ResNet50_vd recipe (PaddleClas's
# ResNet50_vd_ssld_v2 adds AutoAugment and halves the L2 decay, 4e-5 -> 2e-5)
# applied to transfer on Oxford 102 Flowers. For another dataset, swap the
# dataset base and num_classes.
_base_ = ['./resnet50_vd_ssld_flowers102.py']

# ImageNet AutoAugment policy after crop + flip; fill with the BGR mean since
# images are BGR until the data preprocessor converts them.
bgr_mean = [103.53, 116.28, 123.675]
train_pipeline = [
    dict(type='mmpretrain.LoadImageFromFile'),
    dict(type='mmpretrain.RandomResizedCrop', scale=224, backend='cv2'),
    dict(type='mmpretrain.RandomFlip', prob=0.5, direction='horizontal'),
    dict(
        type='mmpretrain.AutoAugment',
        policies='imagenet',
        hparams=dict(pad_val=[round(x) for x in bgr_mean])),
    dict(type='mmpretrain.PackInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))

optim_wrapper = dict(optimizer=dict(weight_decay=2e-5))
