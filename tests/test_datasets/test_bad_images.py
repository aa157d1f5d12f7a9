"""Bad images in ImageListDataset: unusual-but-valid images decode to 3-channel
BGR; missing, empty, truncated, non-image, undecodable and oversized images are
replaced deterministically with on_bad_image='skip' (counted, listed in the
work dir, budgeted) and stop the run with on_bad_image='error'; a training run
with 2 data-loader workers."""
import os
import os.path as osp
import runpy
import sys

import cv2
import numpy as np
import pytest
from conftest import REPO, TINY_CLS_CONFIG
from PIL import Image

from ssld_mm.datasets import ImageListDataset
from ssld_mm.datasets.bad_images import bad_image_budget, read_report, replacement_index
from ssld_mm.datasets.image_list import ImageListError

PIPELINE = [
    dict(type='mmpretrain.LoadImageFromFile'),
    dict(type='mmpretrain.Resize', scale=(32, 32)),
    dict(type='mmpretrain.PackInputs')
]
LOAD_ONLY = [dict(type='mmpretrain.LoadImageFromFile')]
CLASSES = ('a', 'b', 'c')


def _rgb(h=24, w=36, seed=0):
    return (np.random.default_rng(seed).random((h, w, 3)) * 255).astype(np.uint8)


def _write_good(folder, n):
    names = []
    for i in range(n):
        name = f'good_{i}.png'
        base = np.zeros((32, 32, 3))
        base[..., i % 3] = 200
        cv2.imwrite(osp.join(folder, name), base.astype(np.uint8))
        names.append(f'{name} {i % 3}')
    return names


def _write_bad(folder):
    """One file of each bad kind; returns {name: expected reason words}."""
    Image.fromarray(_rgb(200, 300)).save(osp.join(folder, 'ok.jpg'), quality=90)
    data = open(osp.join(folder, 'ok.jpg'), 'rb').read()
    open(osp.join(folder, 'truncated.jpg'), 'wb').write(data[:int(len(data) * 0.9)])
    open(osp.join(folder, 'zero.jpg'), 'wb').close()
    open(osp.join(folder, 'text.png'), 'w').write('this is not an image\n')
    open(osp.join(folder, 'garbage.jpg'),
         'wb').write(b'\xff\xd8\xff\xe0' + bytes(range(256)) * 4)
    cv2.imwrite(osp.join(folder, 'bomb.png'), np.zeros((1500, 1500), np.uint8))
    return {
        'missing.png': 'missing file',
        'truncated.jpg': 'not decodable',
        'zero.jpg': 'empty file',
        'text.png': 'not decodable',
        'garbage.jpg': 'not decodable',
        'bomb.png': 'too many pixels'
    }


@pytest.fixture
def pool(tmp_path):
    folder = str(tmp_path / 'pool')
    os.makedirs(folder)
    good = _write_good(folder, 12)
    bad = _write_bad(folder)
    lines = list(good)
    for i, name in enumerate(bad):  # bad ones at known lines, labeled too
        lines.insert(2 * i + 1, f'{name} {i % 3}')
    ann = str(tmp_path / 'pool.txt')
    with open(ann, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    where = {
        f'{ann}:{lines.index(f"{n} {i % 3}") + 1}': r
        for i, (n, r) in enumerate(bad.items())
    }
    return dict(ann=ann, folder=folder, where=where, n=len(lines))


def _dataset(pool, **kw):
    kw.setdefault('pipeline', PIPELINE)
    return ImageListDataset(
        ann_file=pool['ann'],
        data_prefix=pool['folder'],
        classes=CLASSES,
        max_image_pixels=1_000_000,
        **kw)


def test_unusual_valid_images_decode_to_3_channel_bgr(tmp_path):
    rgb = _rgb()
    d = str(tmp_path)
    Image.fromarray(rgb[..., 0]).save(f'{d}/gray.png')
    pal = Image.fromarray(rgb).convert('P')
    pal.save(f'{d}/palette.png')
    cv2.imwrite(f'{d}/deep16.png', rgb[..., ::-1].astype(np.uint16) * 257)
    Image.fromarray(rgb).convert('RGBA').save(f'{d}/rgba.png')
    cmyk = Image.fromarray(rgb).convert('CMYK')
    cmyk.save(f'{d}/cmyk.jpg', quality=100)
    im = Image.fromarray(rgb)
    exif = im.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    im.save(f'{d}/exif6.png', exif=exif)
    names = [
        'gray.png', 'palette.png', 'deep16.png', 'rgba.png', 'cmyk.jpg', 'exif6.png'
    ]
    with open(f'{d}/list.txt', 'w') as f:
        f.write('\n'.join(names) + '\n')
    ds = ImageListDataset(
        ann_file=f'{d}/list.txt',
        data_prefix=d,
        pipeline=LOAD_ONLY,
        on_bad_image='skip')
    imgs = {n: ds[i]['img'] for i, n in enumerate(names)}
    assert not ds.bad_images
    for n, img in imgs.items():
        assert img.ndim == 3 and img.shape[2] == 3 and img.dtype == np.uint8, n
    bgr = rgb[..., ::-1]
    assert np.array_equal(imgs['gray.png'], np.repeat(rgb[..., :1], 3, axis=2))
    assert np.array_equal(imgs['palette.png'],
                          np.asarray(pal.convert('RGB'))[..., ::-1])
    assert np.array_equal(imgs['deep16.png'], bgr)  # 16 bit -> top 8 bits
    assert np.array_equal(imgs['rgba.png'], bgr)
    cmyk_rgb = np.asarray(cmyk.convert('RGB'), dtype=np.float64)
    assert np.abs(imgs['cmyk.jpg'][..., ::-1] - cmyk_rgb).mean() < 8
    assert imgs['exif6.png'].shape == (36, 24, 3)  # displayed upright
    assert np.array_equal(imgs['exif6.png'], np.rot90(bgr, k=-1))


def test_error_mode_names_list_line_and_reason(pool):
    ds = _dataset(pool, check_files=False)
    bad = {int(k.rsplit(':', 1)[1]) - 1: r for k, r in pool['where'].items()}
    for idx, reason in bad.items():
        with pytest.raises(ImageListError) as e:
            ds[idx]
        assert f"{pool['ann']}:{idx + 1}" in str(e.value)
        if reason == 'too many pixels':
            assert '1500x1500' in str(e.value)
    # and at load time, a missing image is named (check_files=True)
    with pytest.raises(ImageListError, match='missing.png'):
        _dataset(pool)


def test_skip_mode_replaces_deterministically_and_counts(pool):
    ds = _dataset(pool, on_bad_image='skip', max_bad_images=6)
    first = [ds[i]['data_samples'].img_path for i in range(len(ds))]
    assert set(ds.bad_images) == set(pool['where'])
    for where, reason in pool['where'].items():
        assert reason in ds.bad_images[where][1], (where, ds.bad_images[where])
    assert all('good_' in p for p in first)
    again = _dataset(pool, on_bad_image='skip', max_bad_images=6)
    assert [again[i]['data_samples'].img_path for i in range(len(ds))] == first
    # a bad sample's replacement is a function of its index and try only
    assert replacement_index(5, 0, 18) == replacement_index(5, 0, 18) != 5
    assert {replacement_index(i, 0, 18) for i in range(18)} <= set(range(18))


def test_budget_count_and_fraction(pool):
    assert bad_image_budget(3, 100) == 3 and bad_image_budget(0.05, 100) == 5
    for bad in (-1, 1.5, '3', True):
        with pytest.raises((ValueError, TypeError)):
            bad_image_budget(bad, 10)
    with pytest.raises(ValueError, match='on_bad_image'):
        _dataset(pool, on_bad_image='ignore')
    ds = _dataset(pool, on_bad_image='skip', max_bad_images=0.25)  # 4 of 18
    with pytest.raises(ImageListError) as e:
        [ds[i] for i in range(len(ds))]
    msg = str(e.value)
    assert '5 bad images' in msg and 'max_bad_images=0.25 (4 of 18' in msg
    assert msg.count(pool['ann'] + ':') == 5
    with pytest.raises(ImageListError, match='do not exist'):  # over budget at load
        _dataset(pool, on_bad_image='skip', max_bad_images=0)


def test_a_pipeline_error_on_a_good_image_is_not_skipped(pool):
    broken = [
        dict(type='mmpretrain.LoadImageFromFile'),
        dict(type='mmpretrain.CenterCrop', crop_size=-3),
        dict(type='mmpretrain.PackInputs')
    ]
    with pytest.raises(Exception):
        ds = _dataset(pool, on_bad_image='skip', max_bad_images=6, pipeline=broken)
        ds[0]


def _train(pool, tmp_path, monkeypatch, mode, budget=6):
    """tools/train.py, 2 epochs, 2 (non-persistent) workers, on the pool."""
    cfg = str(tmp_path / f'cfg_{mode}.py')
    with open(cfg, 'w') as f:
        f.write(f"""_base_ = [{TINY_CLS_CONFIG!r}]
train_dataloader = dict(
    num_workers=2, persistent_workers=False,
    dataset=dict(_delete_=True, type='ImageListDataset', ann_file={pool['ann']!r},
                 data_prefix={pool['folder']!r}, classes={CLASSES!r},
                 pipeline={PIPELINE!r}, on_bad_image={mode!r},
                 max_bad_images={budget!r},
                 max_image_pixels=1_000_000))
""")
    work = str(tmp_path / f'work_{mode}')
    script = osp.join(REPO, 'tools', 'train.py')
    monkeypatch.setattr(sys, 'argv', [script, cfg, '--work-dir', work, '--no-validate'])
    runpy.run_path(script, run_name='__main__')
    return work


def test_training_with_two_workers_skips_and_lists_exactly_the_bad(
        pool, tmp_path, monkeypatch, capsys):
    work = _train(pool, tmp_path, monkeypatch, 'skip')
    report = read_report(osp.join(work, 'bad_images.txt'))
    assert set(report) == set(pool['where'])
    for where, (path, reason) in report.items():
        assert pool['where'][where] in reason and osp.basename(path) in (
            'missing.png', 'truncated.jpg', 'zero.jpg', 'text.png', 'garbage.jpg',
            'bomb.png')
    out = ''.join(capsys.readouterr())
    assert 'epoch 1: 6 new bad image(s) skipped and replaced, 6 so far' in out
    assert 'epoch 2: ' not in out.split('epoch 1: 6 new')[1]  # once, not again
    assert osp.isfile(osp.join(work, 'epoch_2.pth'))


def test_training_in_error_mode_stops_naming_the_image(pool, tmp_path, monkeypatch,
                                                       capsys):
    with pytest.raises((SystemExit, ImageListError)) as e:
        _train(pool, tmp_path, monkeypatch, 'error')
    text = str(e.value) + ''.join(capsys.readouterr())
    assert f"{pool['ann']}:2: " in text and 'missing.png' in text


def test_ssld_recipes_skip_bad_images_in_the_unlabeled_pool_only():
    import glob

    from mmengine.config import Config
    paths = [
        p for p in glob.glob(osp.join(REPO, 'configs', 'ssld', '*.py'))
        if not p.endswith('_ft_in1k.py')
    ]
    assert len(paths) >= 7
    for path in paths:
        parts = Config.fromfile(path).train_dataloader.dataset.datasets
        modes = {d.labeled: d.get('on_bad_image', 'error') for d in parts}
        assert modes == {True: 'error', False: 'skip'}, (path, modes)
    hooks = Config.fromfile(TINY_CLS_CONFIG).default_hooks
    assert hooks.bad_images.type == 'BadImageHook'


def test_training_over_the_budget_stops_with_the_list(pool, tmp_path, monkeypatch,
                                                      capsys):
    with pytest.raises((SystemExit, ImageListError)) as e:
        _train(pool, tmp_path, monkeypatch, 'skip', budget=3)
    text = str(e.value) + ''.join(capsys.readouterr())
    assert 'bad images in ' + pool['ann'] + ' exceed max_bad_images=3 (3 of 18' \
        in text, text[-3000:]
    report = read_report(str(tmp_path / 'work_skip' / 'bad_images.txt'))
    assert 4 <= len(report) <= 6 and set(report) <= set(pool['where'])
    assert not (tmp_path / 'work_skip' / 'epoch_1.pth').exists()
