"""SubsetDataset / UnlabeledDataset and index files."""
import os
import os.path as osp
import struct

import numpy as np
import pytest
from conftest import write_image_folder
from mmengine.dataset import BaseDataset, ConcatDataset, pseudo_collate
from mmengine.registry import init_default_scope
from torch.utils.data import DataLoader

from ssld_mm.datasets import (ImageListDataset, ImageListError, SubsetDataset,
                              UnlabeledDataset, load_indices, save_indices,
                              split_indices)
from ssld_mm.registry import DATASETS

PIPELINE = [
    dict(type='mmpretrain.LoadImageFromFile'),
    dict(type='mmpretrain.PackInputs'),
]


def write_fake_fashion_mnist(root, n_train=12, n_test=4):
    """Tiny uncompressed Fashion-MNIST files (SN3 format) under ``root``.

    Image ``i`` of the train split is filled with the value ``i`` and its label
    is ``i % 10``, so a sample can be traced back to its index.
    """
    os.makedirs(root, exist_ok=True)
    for prefix, n in (('train', n_train), ('t10k', n_test)):
        images = np.repeat(np.arange(n, dtype=np.uint8), 28 * 28)
        with open(osp.join(root, f'{prefix}-images-idx3-ubyte'), 'wb') as f:
            f.write(struct.pack('>IIII', 0x0803, n, 28, 28) + images.tobytes())
        labels = (np.arange(n) % 10).astype(np.uint8)
        with open(osp.join(root, f'{prefix}-labels-idx1-ubyte'), 'wb') as f:
            f.write(struct.pack('>II', 0x0801, n) + labels.tobytes())
    return root


FMNIST_PIPELINE = [dict(type='mmpretrain.PackInputs')]


@pytest.fixture
def folder(tmp_path):
    return write_image_folder(
        str(tmp_path / 'imgs'), num_classes=3, per_class=4, size=16)


def custom_cfg(root):
    return dict(type='mmpretrain.CustomDataset', data_root=root, pipeline=PIPELINE)


# --------------------------------------------------------------- indices


def test_load_indices_specs(tmp_path):
    assert load_indices(None, 4) == [0, 1, 2, 3]
    assert load_indices(2, 5) == [0, 1]
    assert load_indices(-2, 5) == [3, 4]
    assert load_indices([4, 0, 2], 5) == [4, 0, 2]
    assert load_indices(np.array([1, 3]), 5) == [1, 3]
    txt = tmp_path / 'idx.txt'
    txt.write_text('# labeled part\n3 1\n\n0  # first\n')
    assert load_indices(str(txt), 5) == [3, 1, 0]
    npy = save_indices(str(tmp_path / 'sub' / 'idx.npy'), [2, 4])
    assert load_indices(npy, 5) == [2, 4]
    assert load_indices(save_indices(str(tmp_path / 'w.txt'), [1]), 5) == [1]
    assert load_indices([], 5) == []


def test_load_indices_errors(tmp_path):
    with pytest.raises(
            ValueError, match='index 5 is out of range for a '
            'dataset of 5 samples'):
        load_indices([0, 5], 5)
    with pytest.raises(ValueError, match='index -1 is out of range'):
        load_indices([-1], 5)
    with pytest.raises(ValueError, match='index 2 is listed more than once'):
        load_indices([2, 1, 2], 5)
    assert load_indices([2, 2], 5, allow_duplicates=True) == [2, 2]
    with pytest.raises(ValueError, match='indices=7 asks for more'):
        load_indices(7, 5)
    bad = tmp_path / 'bad.txt'
    bad.write_text('1\n2 x\n')
    with pytest.raises(ValueError, match=r"bad\.txt:2: expected integer.*'x'"):
        load_indices(str(bad), 5)
    with pytest.raises(ValueError, match=r'must end with one of'):
        save_indices(str(tmp_path / 'idx.csv'), [1])
    (tmp_path / 'idx.csv').write_text('1\n')
    with pytest.raises(ValueError, match=r'must end with one of'):
        load_indices(str(tmp_path / 'idx.csv'), 5)
    with pytest.raises(FileNotFoundError, match='nope.txt'):
        load_indices(str(tmp_path / 'nope.txt'), 5)
    np.save(tmp_path / 'f.npy', np.array([0.5]))
    with pytest.raises(ValueError, match='1-D integer array'):
        load_indices(str(tmp_path / 'f.npy'), 5)
    with pytest.raises(TypeError, match='indices must be'):
        load_indices(True, 5)
    with pytest.raises(TypeError, match='indices must be'):
        load_indices(2.5, 5)


def test_split_indices_disjoint_and_reproducible():
    lab, unl = split_indices(20, 6, seed=3)
    assert len(lab) == 6 and len(unl) == 14
    assert not set(lab) & set(unl)
    assert sorted(np.concatenate([lab, unl]).tolist()) == list(range(20))
    lab2, _ = split_indices(20, 6, seed=3)
    assert lab.tolist() == lab2.tolist()
    with pytest.raises(ValueError, match='num_labeled must be in'):
        split_indices(5, 6)


# ------------------------------------------------------------- wrappers


def test_unlabeled_dataset_on_custom_dataset(folder):
    init_default_scope('ssld_mm')
    ds = UnlabeledDataset(dataset=custom_cfg(folder), indices=[0, 5, 11])
    inner = ds.dataset
    assert len(inner) == 12 and len(ds) == 3
    assert ds.metainfo == inner.metainfo
    assert ds.metainfo['classes'] == ('class_0', 'class_1', 'class_2')
    for i, ori in enumerate([0, 5, 11]):
        info = ds.get_data_info(i)
        assert 'gt_label' not in info
        assert info['img_path'] == inner.get_data_info(ori)['img_path']
        out = ds[i]
        assert 'gt_label' not in out['data_samples']
        assert out['data_samples'].img_path == info['img_path']
    # the wrapped dataset keeps its labels
    assert inner.get_data_info(5)['gt_label'] == 1
    assert ds.ori_indices == [0, 5, 11]


def test_subset_dataset_keeps_labels(folder):
    init_default_scope('ssld_mm')
    ds = DATASETS.build(
        dict(type='SubsetDataset', dataset=custom_cfg(folder), indices=-2))
    assert len(ds) == 2 and ds.ori_indices == [10, 11]
    assert [ds[i]['data_samples'].gt_label.item() for i in range(2)] == [2, 2]
    sub = ds.get_subset([1])
    assert len(sub) == 1 and sub.ori_indices == [11] and len(ds) == 2


def test_wrapper_argument_errors(folder):
    init_default_scope('ssld_mm')
    with pytest.raises(ValueError, match='index 12 is out of range'):
        UnlabeledDataset(dataset=custom_cfg(folder), indices=[12])
    with pytest.raises(
            TypeError,
            match=r'UnlabeledDataset: `dataset` must be a config dict '
            r'or an MMEngine BaseDataset instance .*got a ConcatDataset'):
        UnlabeledDataset(dataset=ConcatDataset([DATASETS.build(custom_cfg(folder))]))
    with pytest.raises(TypeError, match=r'its config built a ConcatDataset'):
        SubsetDataset(dataset=dict(type='ConcatDataset', datasets=[custom_cfg(folder)]))
    lazy = UnlabeledDataset(dataset=custom_cfg(folder), indices=[12], lazy_init=True)
    with pytest.raises(ValueError, match='out of range'):
        len(lazy)


def test_labeled_subset_plus_unlabeled_rest(folder, tmp_path):
    """The documented recipe: disjoint index files L and U, one ConcatDataset."""
    init_default_scope('ssld_mm')
    lab, unl = split_indices(12, 4, seed=0)
    lab_file = save_indices(str(tmp_path / 'labeled_idx.txt'), lab)
    unl_file = save_indices(str(tmp_path / 'unlabeled_idx.npy'), unl)
    base = custom_cfg(folder)
    dataset = DATASETS.build(
        dict(
            type='ConcatDataset',
            datasets=[
                dict(type='SubsetDataset', dataset=base, indices=lab_file),
                dict(type='UnlabeledDataset', dataset=base, indices=unl_file),
            ]))
    assert len(dataset) == 12
    # plain wrappers, not BaseDatasets: ConcatDataset takes their configs only
    assert not isinstance(dataset.datasets[0], BaseDataset)
    assert not isinstance(dataset.datasets[1], BaseDataset)
    with pytest.raises(TypeError, match='should be config or `BaseDataset`'):
        ConcatDataset([dataset.datasets[0]])
    loader = DataLoader(
        dataset, batch_size=12, shuffle=False, collate_fn=pseudo_collate)
    batch = next(iter(loader))
    samples = batch['data_samples']
    assert ['gt_label' in s for s in samples] == [True] * 4 + [False] * 8
    # every image exactly once, labeled ones from L only
    paths = [s.img_path for s in samples]
    assert len(set(paths)) == 12
    inner = dataset.datasets[0].dataset
    assert paths[:4] == [inner.get_data_info(i)['img_path'] for i in lab]


class DropPath:
    """A pipeline step returning None for the images in ``drop`` (counted)."""

    def __init__(self, drop):
        self.drop = set(drop)
        self.dropped = 0

    def __call__(self, results):
        if results['img_path'] in self.drop:
            self.dropped += 1
            return None
        return results


def dropping_dataset(folder, drop_idx, **kwargs):
    """CustomDataset on ``folder`` whose pipeline drops samples ``drop_idx``."""
    init_default_scope('ssld_mm')
    inner = DATASETS.build(custom_cfg(folder))
    drop = DropPath(inner.get_data_info(i)['img_path'] for i in drop_idx)
    ds = DATASETS.build(
        dict(
            type='mmpretrain.CustomDataset',
            data_root=folder,
            pipeline=[drop, dict(type='mmpretrain.PackInputs')],
            **kwargs))
    return ds, drop


@pytest.mark.parametrize('wrapper', [SubsetDataset, UnlabeledDataset])
def test_refetch_stays_inside_the_subset(folder, wrapper):
    """A dropped sample is replaced by one of the same subset: L never
    yields a sample of U (nor U a labeled one)."""
    inner, drop = dropping_dataset(folder, drop_idx=[5])
    ds = wrapper(dataset=inner, indices=[0, 5, 11])
    paths = [inner.get_data_info(i)['img_path'] for i in range(12)]
    np.random.seed(0)
    seen = []
    for _ in range(100):
        sample = ds[1]['data_samples']
        seen.append(sample.img_path)
        assert ('gt_label' in sample) == (wrapper is SubsetDataset)
        assert sample.sample_idx in (0, 11)  # the wrapped dataset's index
    assert set(seen) == {paths[0], paths[11]}  # both drawn, nothing else
    assert drop.dropped >= 100
    # the other samples come through untouched
    assert ds[0]['data_samples'].img_path == paths[0]


def test_refetch_gives_up_after_max_refetch(folder):
    inner, drop = dropping_dataset(folder, drop_idx=[5], max_refetch=3)
    ds = SubsetDataset(dataset=inner, indices=[5])
    assert ds.max_refetch == 3 and not ds.test_mode
    with pytest.raises(
            RuntimeError,
            match=r'SubsetDataset of 1 samples of CustomDataset: '
            r'the pipeline returned None 4 times in a row \(max_refetch=3\)'):
        ds[0]
    assert drop.dropped == 4


def test_test_mode_none_is_an_error(folder):
    inner, drop = dropping_dataset(folder, drop_idx=[5], test_mode=True)
    ds = UnlabeledDataset(dataset=inner, indices=[0, 5])
    assert ds.test_mode
    assert ds[0]['data_samples'].sample_idx == 0
    with pytest.raises(
            RuntimeError,
            match=r"UnlabeledDataset: the pipeline returned None "
            r"for sample 1 \(index 5 of the wrapped CustomDataset, img_path "
            r"'.*img_1\.png'\) in test mode"):
        ds[1]
    assert drop.dropped == 1  # no refetch in test mode


def test_lazy_init_getitem_warns_and_initializes(folder, monkeypatch):
    init_default_scope('ssld_mm')
    warnings = []
    monkeypatch.setattr('ssld_mm.datasets.subset_dataset.print_log',
                        lambda msg, **kwargs: warnings.append(msg))
    ds = SubsetDataset(
        dataset=dict(custom_cfg(folder), lazy_init=True),
        indices=[3, 7],
        lazy_init=True)
    assert not ds.dataset._fully_initialized
    assert 'not initialized' in repr(ds)
    out = ds[1]
    assert warnings and 'full_init' in warnings[0]
    assert out['data_samples'].img_path == ds.dataset.get_data_info(7)['img_path']
    assert ds.dataset._fully_initialized and len(ds) == 2
    assert repr(ds) == 'SubsetDataset(samples: 2, wrapping CustomDataset)'
    ds[0]
    assert len(warnings) == 1  # initialized once
    # metainfo is a copy
    meta = ds.metainfo
    meta['classes'] = ()
    assert ds.metainfo['classes'] == ('class_0', 'class_1', 'class_2')


def test_unlabeled_wraps_image_list_with_line_errors(folder):
    with open(osp.join(folder, 'class_0', 'bad.png'), 'wb') as f:
        f.write(b'garbage')
    ann = osp.join(folder, 'list.txt')
    with open(ann, 'w') as f:
        f.write('class_0/img_0.png 0\nclass_0/bad.png 0\n')
    ds = UnlabeledDataset(
        dataset=ImageListDataset(ann_file=ann, data_prefix=folder, pipeline=PIPELINE))
    assert 'gt_label' not in ds[0]['data_samples']
    with pytest.raises(ImageListError, match=r'list\.txt:2: cannot load'):
        ds[1]


# --------------------------------------------- Fashion-MNIST (fake files)


def test_fashion_mnist_honours_indices_and_unlabeled_pool(tmp_path):
    root = write_fake_fashion_mnist(str(tmp_path / 'fmnist'))
    init_default_scope('ssld_mm')
    base = dict(
        type='mmpretrain.FashionMNIST',
        data_root=root,
        split='train',
        download=False,
        pipeline=FMNIST_PIPELINE)
    # MMPretrain's FashionMNIST passes indices= on to MMEngine's BaseDataset
    plain = DATASETS.build(dict(base, indices=[3, 7]))
    assert len(plain) == 2
    assert [int(plain.get_data_info(i)['gt_label']) for i in range(2)] == \
        [3, 7]
    assert plain[1]['inputs'].unique().tolist() == [7]

    lab_file = save_indices(str(tmp_path / 'L.txt'), [0, 1, 2])
    unl_file = save_indices(str(tmp_path / 'U.txt'), range(3, 12))
    dataset = DATASETS.build(
        dict(
            type='ConcatDataset',
            datasets=[
                dict(type='SubsetDataset', dataset=base, indices=lab_file),
                dict(type='UnlabeledDataset', dataset=base, indices=unl_file)
            ]))
    assert len(dataset) == 12
    assert dataset.metainfo['classes'][0] == 'T-shirt/top'
    batch = next(iter(DataLoader(dataset, batch_size=12, collate_fn=pseudo_collate)))
    labels = [
        s.gt_label.item() if 'gt_label' in s else None for s in batch['data_samples']
    ]
    assert labels == [0, 1, 2] + [None] * 9
    # the image of U's first sample is train image 3
    assert batch['inputs'][3].unique().tolist() == [3]
    assert batch['inputs'][3].shape == (1, 28, 28)


def test_fashion_mnist_split_needs_test_mode(tmp_path):
    """MMPretrain 1.2 picks the file by test_mode, not by split (a trap)."""
    root = write_fake_fashion_mnist(str(tmp_path / 'fmnist'), n_train=12, n_test=4)
    init_default_scope('ssld_mm')
    base = dict(
        type='mmpretrain.FashionMNIST',
        data_root=root,
        download=False,
        pipeline=FMNIST_PIPELINE)
    assert len(DATASETS.build(dict(base, split='test'))) == 12  # train!
    assert len(DATASETS.build(dict(base, split='test', test_mode=True))) == 4
