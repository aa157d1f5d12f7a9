"""dedup_pool on images too small / flat for SIFT: counted and warned about
(issue 16, item 8), never silently "nothing removed"."""
import os.path as osp
import warnings

import cv2
import numpy as np
import pytest
from conftest import REPO, run_tool

from ssld_mm.data_selection import SiftMatchParams, dedup_pool, extract_sift, load_gray

DEDUP = osp.join(REPO, 'tools', 'data', 'dedup_sift.py')


def textured(seed: int, size: int = 128) -> np.ndarray:
    """Random rectangles, circles and letters: hundreds of keypoints."""
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 60, (size, size, 3)).astype(np.uint8)
    for _ in range(25):
        x, y = (int(v) for v in rng.integers(0, size, 2))
        color = tuple(int(c) for c in rng.integers(60, 256, 3))
        if rng.random() < 0.5:
            cv2.rectangle(img, (x, y),
                          (x + int(rng.integers(4, 30)), y + int(rng.integers(4, 30))),
                          color, -1)
        else:
            cv2.circle(img, (x, y), int(rng.integers(3, 15)), color, -1)
        cv2.putText(img, chr(65 + int(rng.integers(26))), (x, y),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.6, color, 1)
    return img


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    """val: 3 textured 128 px images + 2 flat 24 px ones; pool: an exact copy
    of each of the 5 (only the textured copies can be found)."""
    root = tmp_path_factory.mktemp('small')
    val, pool = [], []
    for i in range(3):
        img = textured(i)
        cv2.imwrite(str(root / f'v{i}.png'), img)
        cv2.imwrite(str(root / f'p{i}.png'), img)
        val.append(f'v{i}.png')
        pool.append(f'p{i}.png')
    for i in range(3, 5):
        flat = np.full((24, 24, 3), 40 * i, np.uint8)  # no keypoint at all
        cv2.imwrite(str(root / f'v{i}.png'), flat)
        cv2.imwrite(str(root / f'p{i}.png'), flat)
        val.append(f'v{i}.png')
        pool.append(f'p{i}.png')
    (root / 'val.txt').write_text('\n'.join(val) + '\n')
    (root / 'pool.txt').write_text('\n'.join(pool) + '\n')
    return str(root)


def test_few_keypoints_are_counted_and_warned(data):
    # reference: keypoints per image, extracted directly
    counts = {
        f'{s}{i}':
        len(extract_sift(load_gray(osp.join(data, f'{s}{i}.png'), 512), 500).desc)
        for s in 'vp'
        for i in range(5)
    }
    assert all(counts[f'v{i}'] >= 100 for i in range(3))
    assert all(counts[f'{s}{i}'] == 0 for s in 'vp' for i in (3, 4))
    with pytest.warns(UserWarning) as rec:
        summary = dedup_pool(
            osp.join(data, 'pool.txt'),
            osp.join(data, 'val.txt'),
            osp.join(data, 'kept.txt'),
            osp.join(data, 'removed.txt'),
            data_prefix=data,
            progress=False,
            log=lambda s: None)
    assert summary['removed'] == 3  # the 3 textured copies, not the flat ones
    assert summary['min_useful_keypoints'] == 15
    assert summary['pool_few_keypoints'] == 2
    assert summary['val_few_keypoints'] == 2
    messages = [str(r.message) for r in rec if 'SIFT keypoints' in str(r.message)]
    assert len(messages) == 1
    assert messages[0].startswith(
        '2 of 5 pool images and 2 of 5 validation images have fewer than 15 '
        'SIFT keypoints (--min-inliers 15): they can never be flagged')
    assert 'docs/data_selection.md' in messages[0]


def test_threshold_follows_min_inliers_and_no_warning_when_fine(data, tmp_path):
    # with min_inliers=3 the flat images (0 keypoints) are still too few
    with pytest.warns(UserWarning, match='fewer than 3 SIFT keypoints'):
        summary = dedup_pool(
            osp.join(data, 'pool.txt'),
            osp.join(data, 'val.txt'),
            str(tmp_path / 'k.txt'),
            str(tmp_path / 'r.txt'),
            data_prefix=data,
            match=SiftMatchParams(min_inliers=3),
            progress=False,
            log=lambda s: None)
    assert summary['min_useful_keypoints'] == 3
    # only textured images: no warning at all
    (tmp_path / 'pool3.txt').write_text('p0.png\np1.png\n')
    (tmp_path / 'val3.txt').write_text('v0.png\nv1.png\nv2.png\n')
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        summary = dedup_pool(
            str(tmp_path / 'pool3.txt'),
            str(tmp_path / 'val3.txt'),
            str(tmp_path / 'k3.txt'),
            str(tmp_path / 'r3.txt'),
            data_prefix=data,
            progress=False,
            log=lambda s: None)
    assert summary['pool_few_keypoints'] == summary['val_few_keypoints'] == 0
    assert summary['removed'] == 2


def test_cli_ends_with_the_warning(data, tmp_path):
    proc = run_tool([
        DEDUP, '--pool',
        osp.join(data, 'pool.txt'), '--val',
        osp.join(data, 'val.txt'), '--data-prefix', data, '--out',
        str(tmp_path / 'kept.txt'), '--removed',
        str(tmp_path / 'removed.txt'), '--workers', '2', '--no-progress'
    ])
    last = proc.stdout.strip().splitlines()[-1]
    assert last.startswith('WARNING: 2 of 5 pool images and 2 of 5 validation '
                           'images have fewer than 15 SIFT keypoints')
    assert 'SIFT keypoints' not in proc.stderr  # said once, on stdout
    assert (tmp_path / 'kept.txt').read_text() == 'p3.png\np4.png\n'
