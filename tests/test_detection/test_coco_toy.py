"""The COCO toy detection set: exact boxes, COCO layout, determinism."""
import json
import os
import os.path as osp
import struct

import cv2
import numpy as np
import pytest

from ssld_mm.testing import coco_toy
from ssld_mm.testing.coco_toy import find_fashion_mnist, make_coco_toy


def _write_idx(path, array, magic):
    with open(path, 'wb') as f:
        f.write(struct.pack('>II', magic, len(array)))
        if array.ndim == 3:
            f.write(struct.pack('>II', *array.shape[1:]))
        f.write(array.astype(np.uint8).tobytes())


def _fake_fashion_mnist(folder, num=30):
    """Items that are solid 255 squares over the whole 28x28 frame."""
    os.makedirs(folder)
    images = np.full((num, 28, 28), 255, np.uint8)
    labels = np.arange(num) % 10
    for split in ('train', 't10k'):
        _write_idx(osp.join(folder, f'{split}-images-idx3-ubyte'), images, 0x0803)
        _write_idx(osp.join(folder, f'{split}-labels-idx1-ubyte'), labels, 0x0801)
    return folder


def _load(root, split):
    with open(osp.join(root, 'annotations', f'instances_{split}.json')) as f:
        return json.load(f)


def test_boxes_are_exact_pixel_extents(tmp_path):
    src = _fake_fashion_mnist(str(tmp_path / 'src'))
    root = str(tmp_path / 'coco')
    info = make_coco_toy(
        root,
        num_train=6,
        num_val=3,
        image_size=(96, 80),
        object_size=(20, 30),
        source=src)
    assert info['source'] == src
    for split in ('train2017', 'val2017'):
        coco = _load(root, split)
        assert [c['name'] for c in coco['categories']] == ['trouser', 'sneaker', 'bag']
        assert len(coco['annotations']) == info['num_objects'][split] > 0
        for img in coco['images']:
            pixels = cv2.imread(osp.join(root, split, img['file_name']))
            assert pixels.shape == (80, 96, 3) == (img['height'], img['width'], 3)
            inside = np.zeros(pixels.shape[:2], bool)
            for ann in (a for a in coco['annotations'] if a['image_id'] == img['id']):
                x, y, w, h = map(int, ann['bbox'])
                assert ann['bbox'] == [x, y, w, h] and 20 <= w == h <= 30
                assert ann['area'] == w * h and ann['iscrowd'] == 0
                # A solid item is tinted by >= 0.6: every box pixel is bright,
                box = pixels[y:y + h, x:x + w].max(axis=2)
                assert box.min() >= int(0.6 * 255)
                inside[y:y + h, x:x + w] = True
            # and the background noise outside the boxes stays below 60.
            assert pixels.max(axis=2)[~inside].max() < 60


@pytest.mark.skipif(
    find_fashion_mnist() is None,
    reason='Fashion-MNIST not installed (make setup installs it)')
def test_real_items_deterministic_and_inside_boxes(tmp_path):
    a, b, c = (str(tmp_path / n) for n in 'abc')
    info = make_coco_toy(a, num_train=4, num_val=2, seed=3)
    make_coco_toy(b, num_train=4, num_val=2, seed=3)
    make_coco_toy(c, num_train=4, num_val=2, seed=4)
    assert info['source'] == find_fashion_mnist()
    assert info['ann_files'] == {
        'train2017': 'annotations/instances_train2017.json',
        'val2017': 'annotations/instances_val2017.json'
    }
    assert _load(a, 'train2017') == _load(b, 'train2017') != _load(c, 'train2017')
    img_a = cv2.imread(osp.join(a, 'train2017', '000000000000.png'))
    img_b = cv2.imread(osp.join(b, 'train2017', '000000000000.png'))
    np.testing.assert_array_equal(img_a, img_b)
    for split in ('train2017', 'val2017'):
        coco = _load(a, split)
        for img in coco['images']:
            pixels = cv2.imread(osp.join(a, split, img['file_name'])).max(axis=2)
            inside = np.zeros(pixels.shape, bool)
            boxes = [
                a_['bbox'] for a_ in coco['annotations'] if a_['image_id'] == img['id']
            ]
            for x, y, w, h in (map(int, bb) for bb in boxes):
                assert 0 <= x and x + w <= 160 and 0 <= y and y + h <= 160
                assert (pixels[y:y + h, x:x + w] >= 60).any()  # the item is there
                inside[y:y + h, x:x + w] = True
            assert pixels[~inside].max() < 60  # nothing pasted outside a box


def test_synthetic_fallback_warns(tmp_path, monkeypatch):
    monkeypatch.setenv('FASHION_MNIST_DIR', str(tmp_path / 'empty'))
    monkeypatch.setattr(coco_toy, 'FASHION_MNIST_SYSTEM_DIR', str(tmp_path / 'none'))
    assert find_fashion_mnist() is None
    with pytest.warns(UserWarning, match='synthetic shapes'):
        info = make_coco_toy(str(tmp_path / 'c'), num_train=2, num_val=1)
    assert info['source'] == 'synthetic'
    assert info['classes'] == ('rectangle', 'ellipse', 'triangle')
    assert info['num_objects']['train2017'] >= 2


@pytest.mark.parametrize('kwargs, match', [
    (dict(num_train=0), 'num_train'),
    (dict(objects_per_image=(2, 1)), 'objects_per_image'),
    (dict(object_size=(40, 400)), 'object_size'),
    (dict(classes=('trouser', 'hat')), "'hat'"),
])
def test_bad_arguments(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_coco_toy(str(tmp_path), source='synthetic', **kwargs)


def test_toy_overrides_keep_the_recipe_and_shrink_the_data(tmp_path):
    from conftest import REPO
    from mmengine.config import Config

    from ssld_mm.testing import coco_toy_overrides, write_coco_toy_config
    info = make_coco_toy(
        str(tmp_path / 'toy'), num_train=2, num_val=1, source='synthetic')
    src = osp.join(REPO, 'configs', 'detection',
                   'cascade-rcnn_r50vd-ssld_fpn_1x_coco.py')
    over = coco_toy_overrides(
        Config.fromfile(src), info, scale=(96, 96), checkpoint='x.pth', score_thr=0.0)
    assert [h['num_classes']
            for h in over['model']['roi_head']['bbox_head']] == [3, 3, 3]
    dst = write_coco_toy_config(
        src, str(tmp_path / 'c.py'), info, scale=(96, 96), checkpoint='x.pth', lr=0.005)
    cfg = Config.fromfile(dst)
    train = cfg.train_dataloader.dataset
    assert train.data_root == str(tmp_path / 'toy') + os.sep
    assert train.metainfo.classes == ('rectangle', 'ellipse', 'triangle')
    assert train.pipeline[2].scales == [(96, 96)]  # RandomChoiceResize
    assert cfg.test_dataloader.dataset.pipeline[1].scale == (96, 96)
    assert cfg.val_evaluator.ann_file == str(tmp_path / 'toy' / 'annotations' /
                                             'instances_val2017.json')
    # the recipe stays: cascade heads (class-agnostic), frozen backbone, lr mults
    assert [h.reg_class_agnostic for h in cfg.model.roi_head.bbox_head] == [True] * 3
    assert cfg.model.backbone.frozen_stages == 1
    assert cfg.model.backbone.init_cfg.checkpoint == 'x.pth'
    assert cfg.optim_wrapper.optimizer.lr == 0.005
    assert cfg.optim_wrapper.paramwise_cfg.lr_mult_list == [0.05, 0.05, 0.05, 0.1, 0.15]
    assert cfg.train_cfg == dict(
        type='EpochBasedTrainLoop', max_epochs=1, val_interval=1)


def test_make_coco_toy_tool(tmp_path):
    from conftest import REPO, run_tool
    from mmengine.config import Config
    out = str(tmp_path / 'faster.py')
    proc = run_tool([
        'tools/data/make_coco_toy.py',
        str(tmp_path / 'toy'), '--num-train', '3', '--num-val', '2', '--image-size',
        '96', '--config',
        osp.join(REPO, 'configs', 'detection', 'faster-rcnn_r50vd-ssld_fpn_1x_coco.py'),
        '--out', out, '--max-epochs', '4', '--val-interval', '2', '--checkpoint', 'none'
    ])
    assert '3 train images' in proc.stdout and out in proc.stdout
    cfg = Config.fromfile(out)
    assert cfg.model.backbone.init_cfg.checkpoint is None
    assert cfg.model.roi_head.bbox_head.num_classes == 3
    assert (cfg.train_cfg.max_epochs, cfg.train_cfg.val_interval) == (4, 2)
    with open(osp.join(tmp_path, 'toy', 'annotations', 'instances_val2017.json')) as f:
        assert len(json.load(f)['images']) == 2
