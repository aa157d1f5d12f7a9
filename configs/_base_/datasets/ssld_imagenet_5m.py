# SSLD stage-1 training set: ImageNet-1k train (labeled) + the unlabeled images
# selected by the teacher (tools/data/select_topk.py), ~5M images in the paper.
#   data/imagenet/meta/train.txt            MMPretrain layout, "n014.../x.JPEG 0"
#   data/ssld_unlabeled/selected.txt        "path" per line (labels, if any, ignored)
# Labels are never used by the label-free distiller (gt_loss_weight=0); they are
# kept on the ImageNet part so that gt_loss_weight > 0 works too.
# check_files=False: stat()-ing 5M paths at start-up is slow on network file
# systems. A missing/unreadable labeled image fails naming list, line and path;
# one of the web-crawled unlabeled pool is skipped (on_bad_image='skip':
# replaced by another pool image, listed in <work_dir>/bad_images.txt) until
# more than 1% of the pool is bad.
_base_ = ['./imagenet_bs64_paddle.py']

train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='ConcatDataset',
        datasets=[
            dict(
                type='ImageListDataset',
                data_root='data/imagenet',
                ann_file='meta/train.txt',
                data_prefix='train',
                labeled=True,
                check_files=False,
                pipeline={{_base_.train_pipeline}}),
            dict(
                type='ImageListDataset',
                data_root='data/ssld_unlabeled',
                ann_file='selected.txt',
                data_prefix='',
                labeled=False,
                check_files=False,
                on_bad_image='skip',
                max_bad_images=0.01,
                pipeline={{_base_.train_pipeline}}),
        ]))
