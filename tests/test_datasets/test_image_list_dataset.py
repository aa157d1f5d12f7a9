"""ImageListDataset: PaddleClas / MMPretrain lists, mixed batches, errors."""
import json
import os.path as osp

import numpy as np
import pytest
import torch
from conftest import write_image_folder
from mmengine.dataset import ConcatDataset, pseudo_collate
from mmengine.registry import init_default_scope
from torch.utils.data import DataLoader

from ssld_mm.datasets import ImageListDataset, ImageListError
from ssld_mm.registry import DATASETS

CLASSES = ('c0', 'c1', 'c2')
PIPELINE = [
    dict(type='mmpretrain.LoadImageFromFile'),
    dict(type='mmpretrain.PackInputs'),
]


def write_list(path, lines):
    with open(path, 'w', encoding='utf-8') as f:
        f.write('\n'.join(lines) + '\n')
    return str(path)


@pytest.fixture
def root(tmp_path):
    return write_image_folder(
        str(tmp_path / 'imgs'), num_classes=3, per_class=3, size=16)


@pytest.fixture
def mixed_list(root):
    # line numbers:  1 comment, 2..4 labeled, 5 blank, 6..7 unlabeled
    return write_list(
        osp.join(root, 'mixed.txt'), [
            '# PaddleClas list: labeled and unlabeled lines',
            'class_0/img_0.png 0',
            'class_1/img_0.png 1',
            'class_2/img_0.png\t2',
            '',
            'class_0/img_1.png',
            'class_2/img_2.png',
        ])


def make(ann_file, root, **kwargs):
    kwargs.setdefault('classes', CLASSES)
    kwargs.setdefault('pipeline', PIPELINE)
    return ImageListDataset(ann_file=ann_file, data_prefix=root, **kwargs)


# ------------------------------------------------------------- parsing


def test_paddleclas_mixed_list(root, mixed_list):
    ds = make(mixed_list, root)
    assert len(ds) == 5 and ds.num_labeled == 3
    infos = [ds.get_data_info(i) for i in range(5)]
    assert [i.get('gt_label') for i in infos] == [0, 1, 2, None, None]
    assert ['gt_label' in i for i in infos] == [True] * 3 + [False] * 2
    assert [i['line_no'] for i in infos] == [2, 3, 4, 6, 7]
    assert infos[3]['img_path'] == osp.join(root, 'class_0/img_1.png')
    assert ds.get_cat_ids(0) == [0] and ds.get_cat_ids(3) == []
    assert ds.is_labeled(2) and not ds.is_labeled(4)
    with pytest.raises(ValueError, match='2 of 5 samples have no label'):
        ds.get_gt_labels()
    assert ds.metainfo['classes'] == CLASSES
    # the packed unlabeled sample has no gt_label at all (not class 0)
    out = ds[3]
    assert 'gt_label' not in out['data_samples']
    assert out['inputs'].shape == (3, 16, 16)
    assert ds[1]['data_samples'].gt_label.tolist() == [1]


def test_labeled_false_drops_labels_and_true_requires_them(root, mixed_list):
    ds = make(mixed_list, root, labeled=False)
    assert ds.num_labeled == 0
    assert all('gt_label' not in ds[i]['data_samples'] for i in range(5))
    with pytest.raises(ImageListError) as err:
        make(mixed_list, root, labeled=True)
    assert f'{mixed_list}:6' in str(err.value)
    assert 'class_0/img_1.png' in str(err.value)
    full = write_list(
        osp.join(root, 'full.txt'), ['class_0/img_0.png 0', 'class_1/img_1.png 1'])
    ds = make(full, root, labeled=True)
    assert ds.get_gt_labels().tolist() == [0, 1]


def test_same_result_as_mmpretrain_custom_dataset(root):
    # MMPretrain's CustomDataset ann_file format is "path label".
    from mmpretrain.datasets import CustomDataset
    ann = write_list(
        osp.join(root, 'ann.txt'), ['class_2/img_1.png 2', 'class_0/img_2.png 0'])
    ours = make(ann, root)
    theirs = CustomDataset(ann_file=ann, data_prefix=root, classes=CLASSES)
    for i in range(2):
        a, b = ours.get_data_info(i), theirs.get_data_info(i)
        assert osp.normpath(a['img_path']) == osp.normpath(b['img_path'])
        assert a['gt_label'] == b['gt_label']


def test_path_with_space_and_data_root(tmp_path):
    import cv2
    root = tmp_path / 'data'
    (root / 'images' / 'my dir').mkdir(parents=True)
    cv2.imwrite(
        str(root / 'images' / 'my dir' / 'a b.png'), np.zeros((8, 8, 3), np.uint8))
    write_list(root / 'list.txt', ['my dir/a b.png 1', 'my dir/a b.png'])
    ds = ImageListDataset(
        ann_file='list.txt', data_root=str(root), data_prefix='images', classes=CLASSES)
    assert ds.get_data_info(0)['img_path'] == osp.join(
        str(root), 'images', 'my dir/a b.png')
    assert ds.get_data_info(0)['gt_label'] == 1
    assert 'gt_label' not in ds.get_data_info(1)


def test_openmmlab_json_format(root):
    ann = osp.join(root, 'ann.json')
    with open(ann, 'w') as f:
        json.dump(
            {
                'metainfo': {
                    'classes': list(CLASSES)
                },
                'data_list': [{
                    'img_path': 'class_0/img_0.png',
                    'gt_label': 0
                }, {
                    'img_path': 'class_1/img_1.png'
                }, {
                    'img_path': 'class_2/img_2.png',
                    'gt_label': 2
                }]
            }, f)
    ds = ImageListDataset(ann_file=ann, data_prefix=root, pipeline=PIPELINE)
    assert [ds.get_data_info(i).get('gt_label') for i in range(3)] == \
        [0, None, 2]
    assert ds.metainfo['classes'] == list(CLASSES)
    assert 'gt_label' not in ds[1]['data_samples']
    with pytest.raises(ImageListError, match=r'data_list\[1\].*labeled=True'):
        ImageListDataset(ann_file=ann, data_prefix=root, labeled=True)


def test_label_out_of_range(root):
    ann = write_list(
        osp.join(root, 'bad.txt'), ['class_0/img_0.png 0', 'class_1/img_0.png 3'])
    with pytest.raises(ImageListError, match=r'bad\.txt:2: label 3 .* 3 classes'):
        make(ann, root)
    # without class names there is nothing to check against
    assert len(make(ann, root, classes=None)) == 2


def test_bad_arguments(root, mixed_list):
    with pytest.raises(ValueError, match=r"labeled must be one of .*'yes'"):
        make(mixed_list, root, labeled='yes')
    with pytest.raises(ValueError, match='labeled must be one of'):
        make(mixed_list, root, labeled=1)
    with pytest.raises(ValueError, match='ann_file must be'):
        make('', root)
    with pytest.raises(TypeError, match='check_files must be a bool'):
        make(mixed_list, root, check_files='no')
    with pytest.raises(FileNotFoundError, match='nope.txt'):
        make(osp.join(root, 'nope.txt'), root)
    empty = write_list(osp.join(root, 'empty.txt'), ['# nothing'])
    with pytest.raises(ImageListError, match='has no samples'):
        make(empty, root)


# -------------------------------------------------------------- errors


def test_missing_image_named_at_load_time(root):
    ann = write_list(
        osp.join(root, 'missing.txt'), [
            'class_0/img_0.png 0',
            'class_0/gone.png 0',
            'class_1/img_0.png',
            'nowhere/also_gone.jpg',
        ])
    with pytest.raises(ImageListError) as err:
        make(ann, root)
    msg = str(err.value)
    assert '2 image(s)' in msg
    assert f"{ann}:2: {osp.join(root, 'class_0/gone.png')}" in msg
    assert f"{ann}:4: {osp.join(root, 'nowhere/also_gone.jpg')}" in msg
    # without the check it loads; fetching the missing image then fails
    ds = make(ann, root, check_files=False)
    assert len(ds) == 4
    with pytest.raises(ImageListError) as err:
        ds[1]
    assert f'{ann}:2' in str(err.value) and 'gone.png' in str(err.value)


def test_many_missing_images_are_summarised(root):
    ann = write_list(osp.join(root, 'm.txt'), [f'x/{i}.png' for i in range(8)])
    with pytest.raises(ImageListError, match=r'8 image\(s\)(.|\n)*and 3 more'):
        make(ann, root)


def test_corrupt_image_named_at_fetch_time(root):
    with open(osp.join(root, 'class_1', 'broken.png'), 'wb') as f:
        f.write(b'this is not a png')
    ann = write_list(
        osp.join(root, 'corrupt.txt'), ['class_0/img_0.png 0', 'class_1/broken.png 1'])
    ds = make(ann, root)  # the file exists: loading works
    assert ds[0]['data_samples'].gt_label.tolist() == [0]
    with pytest.raises(ImageListError) as err:
        ds[1]
    msg = str(err.value)
    assert f'{ann}:2' in msg
    assert osp.join(root, 'class_1/broken.png') in msg
    # the same error through ConcatDataset and a DataLoader
    concat = ConcatDataset([make(osp.join(root, 'corrupt.txt'), root)])
    loader = DataLoader(concat, batch_size=2, collate_fn=pseudo_collate)
    with pytest.raises(ImageListError, match=r'corrupt\.txt:2: cannot load'):
        next(iter(loader))


# ------------------------------------- labeled + unlabeled in one set


def test_concat_labeled_and_unlabeled_through_dataloader(root):
    from mmpretrain.models import ClsDataPreprocessor

    from ssld_mm.models.data_preprocessors import SSLDDataPreprocessor
    labeled = write_list(
        osp.join(root, 'train.txt'),
        ['class_0/img_0.png 0', 'class_1/img_0.png 1', 'class_2/img_0.png 2'])
    pool = write_list(
        osp.join(root, 'pool.txt'),
        ['class_0/img_1.png', 'class_1/img_1.png 1', 'class_2/img_1.png'])
    init_default_scope('ssld_mm')
    dataset = DATASETS.build(
        dict(
            type='ConcatDataset',
            datasets=[
                dict(
                    type='ImageListDataset',
                    ann_file=labeled,
                    data_prefix=root,
                    classes=CLASSES,
                    pipeline=PIPELINE),
                dict(
                    type='ImageListDataset',
                    ann_file=pool,
                    data_prefix=root,
                    labeled=False,
                    classes=CLASSES,
                    pipeline=PIPELINE),
            ]))
    assert len(dataset) == 6
    loader = DataLoader(dataset, batch_size=6, shuffle=False, collate_fn=pseudo_collate)
    batch = next(iter(loader))
    assert len(batch['inputs']) == 6
    flags = ['gt_label' in s for s in batch['data_samples']]
    assert flags == [True, True, True, False, False, False]

    # MMPretrain 1.2's ClsDataPreprocessor only looks at the first sample:
    # labeled first -> it reads gt_label of every sample and fails.
    with pytest.raises(AttributeError, match='gt_label'):
        ClsDataPreprocessor(num_classes=3)(
            dict(inputs=batch['inputs'], data_samples=batch['data_samples']),
            training=True)

    batch = next(iter(loader))
    out = SSLDDataPreprocessor(
        num_classes=3, mean=[127.5] * 3, std=[127.5] * 3)(
            batch, training=True)
    assert out['inputs'].shape == (6, 3, 16, 16)
    assert out['inputs'].dtype == torch.float32
    samples = out['data_samples']
    assert ['gt_label' in s for s in samples] == flags
    assert [s.gt_label.item() for s in samples[:3]] == [0, 1, 2]


def test_concat_requires_same_classes(root, mixed_list):
    a = make(mixed_list, root)
    b = make(mixed_list, root, labeled=False, classes=('x', 'y', 'z'))
    with pytest.raises(ValueError, match='meta information'):
        ConcatDataset([a, b])
    c = make(mixed_list, root, labeled=False, classes=None)
    with pytest.raises(ValueError, match='classes does not in'):
        ConcatDataset([a, c])
