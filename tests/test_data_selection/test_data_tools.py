"""Smoke tests of tools/data/*.py as subprocesses (CLI wiring, shards, the
distributed launcher, worker processes)."""
import json
import os
import os.path as osp
import sys

import cv2
import numpy as np
import pytest
import torch
from conftest import REPO, TINY_CLS_CONFIG, free_port, run_tool

from ssld_mm.testing.synthetic_scenes import make_scene, near_duplicate

SELECT = osp.join(REPO, 'tools', 'data', 'select_topk.py')
DEDUP = osp.join(REPO, 'tools', 'data', 'dedup_sift.py')


@pytest.fixture(scope='module')
def pool(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('tools'))
    rng = np.random.default_rng(1)
    lines = []
    os.makedirs(osp.join(root, 'img'))
    for i in range(30):
        img = (rng.normal(0, 50, (34, 34, 3)) + rng.dirichlet(np.ones(3)) * 255)
        cv2.imwrite(
            osp.join(root, 'img', f'{i}.png'),
            img.clip(0, 255).astype(np.uint8))
        lines.append(f'img/{i}.png')
    lines.append('img/gone.png')
    with open(osp.join(root, 'pool.txt'), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    with open(osp.join(root, 'train.txt'), 'w') as f:
        f.write('train/x.jpg 1\n')
    from mmengine.config import Config
    from mmengine.registry import MODELS, DefaultScope

    from ssld_mm.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('ssld_mm'):
        model = MODELS.build(Config.fromfile(TINY_CLS_CONFIG).model)
    torch.save({'state_dict': model.state_dict()}, osp.join(root, 'tiny.pth'))
    return root


def select_args(root, out, *extra):
    return [
        SELECT, TINY_CLS_CONFIG,
        osp.join(root, 'tiny.pth'), '--pool',
        osp.join(root, 'pool.txt'), '--data-prefix', root, '--k', '4', '--out', out,
        '--chunk-size', '7', '--batch-size', '4', '--num-workers', '2', '--no-progress',
        '--labeled',
        osp.join(root, 'train.txt'), *extra
    ]


def read(path):
    with open(path) as f:
        return f.read()


def test_select_topk_cli_shards_and_launcher(pool, tmp_path):
    ref = str(tmp_path / 'ref.txt')
    proc = run_tool(
        select_args(pool, ref, '--soft-labels', str(tmp_path / 'ref.jsonl')))
    assert 'images seen: 31' in proc.stdout and 'skipped (unreadable): 1' in proc.stdout
    lines = read(ref).splitlines()
    assert lines[0] == 'train/x.jpg 1'
    summary = json.loads(read(ref + '.summary.json'))
    assert summary['images_skipped'] == 1
    assert len(lines) == 1 + summary['selected']
    assert len(read(str(tmp_path / 'ref.jsonl')).splitlines()) == summary['selected']
    assert read(ref + '.skipped.txt').startswith(osp.join(pool, 'img/gone.png'))

    # two independent shard jobs sharing a work dir
    out = str(tmp_path / 'sharded.txt')
    p0 = run_tool(select_args(pool, out, '--shard', '0/2'))
    assert 'still to run by other shards' in p0.stdout and not osp.exists(out)
    p1 = run_tool(select_args(pool, out, '--shard', '1/2'))
    assert 'images seen: 31' in p1.stdout
    assert read(out) == read(ref)

    # the distributed launcher: 2 CPU processes, the last one merges
    out = str(tmp_path / 'dist.txt')
    run_tool([
        osp.join(REPO, 'tools', 'data', 'dist_select_topk.sh'), TINY_CLS_CONFIG,
        osp.join(pool, 'tiny.pth'), '2', *select_args(pool, out)[3:]
    ],
             env={
                 'PORT': str(free_port()),
                 'PYTHON': sys.executable
             })
    assert read(out) == read(ref)


def test_dedup_cli(tmp_path):
    root = str(tmp_path)
    val, pl = [], []
    for i in range(6):
        cv2.imwrite(osp.join(root, f'v{i}.png'), make_scene(i, i % 2))
        val.append(f'v{i}.png')
    cv2.imwrite(
        osp.join(root, 'p_dup.jpg'), near_duplicate(make_scene(2, 0), 'combo', seed=3))
    cv2.imwrite(osp.join(root, 'p_new.png'), make_scene(50, 0))
    pl = ['p_new.png 0', 'p_dup.jpg 0']
    for name, lines in (('val.txt', val), ('pool.txt', pl)):
        with open(osp.join(root, name), 'w') as f:
            f.write('\n'.join(lines) + '\n')
    proc = run_tool([
        DEDUP, '--pool',
        osp.join(root, 'pool.txt'), '--val',
        osp.join(root, 'val.txt'), '--data-prefix', root, '--out',
        osp.join(root, 'kept.txt'), '--removed',
        osp.join(root, 'removed.txt'), '--workers', '2', '--no-progress'
    ])
    assert 'removed as validation duplicates: 1 (1 mirrored)' in proc.stdout
    assert read(osp.join(root, 'kept.txt')) == 'p_new.png 0\n'
    row = read(osp.join(root, 'removed.txt')).splitlines()[1].split('\t')
    assert row[:2] == ['p_dup.jpg', 'v2.png'] and int(row[2]) >= 15
    assert row[3] == 'flip'


def test_no_fork_deadlock_after_opencv_threads_ran(pool, tmp_path):
    """OpenCV's thread pool running in the parent, then DataLoader workers
    (select_topk) and a worker pool (dedup) forked from it: calling
    cv2.setNumThreads inside a forked child deadlocks, so neither may."""
    script = tmp_path / 'warm_then_fork.py'
    script.write_text(f'''
import cv2, numpy as np
cv2.setNumThreads(4)
img = np.random.default_rng(0).integers(0, 255, (1024, 1024, 3), np.uint8)
for _ in range(3):
    cv2.GaussianBlur(img, (0, 0), 3.0); cv2.resize(img, (700, 700))
from ssld_mm.data_selection import select_topk, dedup_pool, SiftMatchParams
r = select_topk({TINY_CLS_CONFIG!r}, {osp.join(pool, 'tiny.pth')!r},
                {osp.join(pool, 'pool.txt')!r}, 3, {str(tmp_path / 'o.txt')!r},
                data_prefix={pool!r}, num_workers=2, batch_size=4,
                progress=False)
assert r['summary']['images_scored'] == 30
assert cv2.getNumThreads() == 4  # the parent's setting is restored
s = dedup_pool({osp.join(pool, 'pool.txt')!r}, {osp.join(pool, 'pool.txt')!r},
               {str(tmp_path / 'k.txt')!r}, {str(tmp_path / 'r.txt')!r},
               data_prefix={pool!r}, workers=2,
               match=SiftMatchParams(max_keypoints=50), progress=False)
assert s['pool_images'] == 31
print('no deadlock')
''')
    proc = run_tool([str(script)], timeout=240)
    assert 'no deadlock' in proc.stdout
