# Stored-teacher mode of ssld_lenet5_fmnist_unlabeled.py (FKD-style): the same
# LeNet-5 student, images (L + U, label-free), loss and schedule, but no
# teacher in the training loop. The student is a plain ImageClassifier whose
# soft-label head takes SymmetricKLLoss against the teacher distribution stored
# for the view it replays; one store serves every seed and every student.
# 1. The images of L + U as PNGs and their list (make demo does this):
#      tools/demo/demo_data.py write_png_list -> data/fashion_mnist/lu_png_list.txt
# 2. The store, M = 3 views per image (one per epoch), all 10 probabilities:
#      python tools/data/generate_soft_labels.py \
#          configs/demo/teacher_resnet18_fmnist.py work_dirs/teacher_resnet18_fmnist/epoch_40.pth \
#          --train-config configs/demo/ssld_lenet5_fmnist_unlabeled_stored.py \
#          --list data/fashion_mnist/lu_png_list.txt --data-prefix data/fashion_mnist \
#          --views 3 --topk 10 --out work_dirs/demo_soft_labels
# 3. python tools/train.py configs/demo/ssld_lenet5_fmnist_unlabeled_stored.py
# then fine-tune on L with lenet5_fmnist_finetune.py (load_from = the checkpoint).
#
# Views: exactly the online run's augmentation (Resize 32, RandomCrop 32 with
# 2 px padding, horizontal flip) on the same 28x28 images, read from PNG here.
# `train_pipeline` is that online pipeline (what generate_soft_labels.py reads);
# the dataset replays it from the store.
_base_ = ['./ssld_lenet5_fmnist_unlabeled.py']

soft_label_store = 'work_dirs/demo_soft_labels'
png_root = 'data/fashion_mnist'

model = dict(
    _delete_=True,
    type='mmpretrain.ImageClassifier',
    data_preprocessor=dict(
        type='ssld_mm.SSLDDataPreprocessor',
        num_classes=10,
        mean=[72.94],
        std=[90.02],
        to_rgb=False),
    backbone={{_base_.model.student.backbone}},
    neck=None,
    head=dict(
        type='ssld_mm.SoftLabelPlainClsHead',
        distill_loss={{_base_.model.distill_loss}},
        gt_loss_weight={{_base_.model.gt_loss_weight}},
        topk=(1, )))

# The views the store holds (read by generate_soft_labels.py --train-config).
train_pipeline = [
    dict(type='mmpretrain.LoadImageFromFile', color_type='grayscale'),
    dict(type='mmpretrain.Resize', scale=32),
    dict(type='mmpretrain.RandomCrop', crop_size=32, padding=2),
    dict(type='mmpretrain.RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='mmpretrain.PackInputs'),
]
# ... replayed from the store during training.
stored_train_pipeline = [
    dict(type='mmpretrain.LoadImageFromFile', color_type='grayscale'),
    dict(type='mmpretrain.Resize', scale=32),
    dict(type='ssld_mm.ReplayStoredView', store=soft_label_store, scale=32,
         pad_val=0),  # RandomCrop's padding value
    dict(type='mmpretrain.PackInputs'),
]
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='ImageListDataset',
        data_root=png_root,
        ann_file='lu_png_list.txt',
        check_files=False,
        # our own 28x28 PNGs: skip the per-image header check (a second file
        # open, ~100 us of the ~270 us a sample costs here)
        max_image_pixels=None,
        pipeline=stored_train_pipeline))
# sets the replayed epoch (also after --resume)
custom_hooks = [dict(type='ssld_mm.StoredViewEpochHook')]
