"""select_topk --labeled with a labeled list whose paths start from another
root (issue 16, item 9): rewritten so that every written path resolves
against --data-prefix, checked up front, and said in the summary."""
import os
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from conftest import REPO, TINY_CLS_CONFIG, run_tool

from ssld_mm.data_selection import format_summary, select_topk
from ssld_mm.data_selection.select_topk import rebase_path

SELECT = osp.join(REPO, 'tools', 'data', 'select_topk.py')


@pytest.fixture(scope='module')
def tree(tmp_path_factory):
    """``data/pool/*.png`` (list relative to ``data``), ``data/labeled/*.png``
    (list relative to ``data/labeled``), ``elsewhere/*.png`` (list relative
    to ``elsewhere``) and a tiny random teacher."""
    root = str(tmp_path_factory.mktemp('roots'))
    rng = np.random.default_rng(0)

    def write(folder, n):
        os.makedirs(folder, exist_ok=True)
        for i in range(n):
            img = rng.normal(0, 40, (20, 20, 3)) + rng.dirichlet(np.ones(3)) * 255
            cv2.imwrite(osp.join(folder, f'{i}.png'), img.clip(0, 255).astype(np.uint8))

    data = osp.join(root, 'data')
    write(osp.join(data, 'pool'), 9)
    write(osp.join(data, 'labeled'), 2)
    write(osp.join(root, 'elsewhere'), 2)
    with open(osp.join(root, 'pool.txt'), 'w') as f:
        f.write(''.join(f'pool/{i}.png\n' for i in range(9)))
    with open(osp.join(root, 'labeled.txt'), 'w') as f:
        f.write('0.png 0\n1.png 2\n')
    from mmengine.config import Config
    from mmengine.registry import MODELS, DefaultScope

    from ssld_mm.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('ssld_mm'):
        model = MODELS.build(Config.fromfile(TINY_CLS_CONFIG).model)
    ckpt = osp.join(root, 'tiny.pth')
    torch.save({'state_dict': model.state_dict()}, ckpt)
    return root, data, ckpt


def run(tree, out, **kw):
    root, data, ckpt = tree
    logs = []
    kw.setdefault('labeled', osp.join(root, 'labeled.txt'))
    res = select_topk(
        TINY_CLS_CONFIG,
        ckpt,
        osp.join(root, 'pool.txt'),
        2,
        osp.join(root, out),
        data_prefix=data,
        num_workers=0,
        batch_size=4,
        progress=False,
        log=logs.append,
        **kw)
    with open(osp.join(root, out)) as f:
        lines = f.read().splitlines()
    return res['summary'], lines, logs


def test_rebase_path():
    assert rebase_path('a/1.jpg', 'data/train', 'data') == 'train/a/1.jpg'
    assert rebase_path('a/1.jpg', 'data', 'data/') == 'a/1.jpg'  # same root
    assert rebase_path('/abs/1.jpg', 'x', 'y') == '/abs/1.jpg'
    # outside the target root: absolute
    assert rebase_path('1.jpg', 'other', 'data') == osp.abspath('other/1.jpg')
    assert rebase_path('1.jpg', 'other', '') == 'other/1.jpg'


def test_labeled_prefix_inside_data_prefix_is_rewritten(tree):
    root, data, _ = tree
    summary, lines, logs = run(tree, 'a.txt', labeled_prefix=osp.join(data, 'labeled'))
    assert lines[:2] == ['labeled/0.png 0', 'labeled/1.png 2']
    # every written path resolves against --data-prefix
    for line in lines:
        assert osp.isfile(osp.join(data, line.split()[0])), line
    assert len(lines) == 2 + summary['selected']
    assert summary['labeled_paths_rewritten'] == 2
    assert summary['labeled_root_warning'] is None
    assert not any('WARNING' in s for s in logs)
    text = format_summary(summary).splitlines()
    assert text[-2] == (f"2 labeled paths rewritten from --labeled-prefix "
                        f"{osp.join(data, 'labeled')!r} to --data-prefix "
                        f'{data!r}')
    assert text[-1] == (
        f"wrote {osp.join(root, 'a.txt')}: 2 labeled + {summary['selected']} "
        f'selected lines (unlabeled); relative paths start from {data!r}: '
        f'train with data_prefix={data!r}')


def test_labeled_prefix_outside_data_prefix_becomes_absolute(tree):
    root, data, _ = tree
    summary, lines, _ = run(tree, 'b.txt', labeled_prefix=osp.join(root, 'elsewhere'))
    assert lines[:2] == [
        f"{osp.join(root, 'elsewhere', '0.png')} 0",
        f"{osp.join(root, 'elsewhere', '1.png')} 2"
    ]
    for line in lines:
        assert osp.isfile(osp.join(data, line.split()[0])), line


def test_wrong_root_is_warned_before_the_teacher_runs(tree):
    root, data, _ = tree
    # labeled paths are relative to data/labeled, but no --labeled-prefix
    summary, lines, logs = run(tree, 'c.txt')
    assert lines[:2] == ['0.png 0', '1.png 2']  # written verbatim, as before
    warn = [i for i, s in enumerate(logs) if s.startswith('WARNING')]
    assert len(warn) == 1
    msg = logs[warn[0]]
    assert msg == (
        f"WARNING: 2 of the first 2 paths of {osp.join(root, 'labeled.txt')!r}"
        f" do not exist under --labeled-prefix {data!r} (e.g. "
        f"{osp.join(data, '0.png')!r}); set --labeled-prefix to the folder "
        'its relative paths start from')
    # said before the teacher ran (the shard log comes from the run)
    assert warn[0] < next(i for i, s in enumerate(logs) if s.startswith('shard'))
    assert format_summary(summary).splitlines()[-1] == msg


def test_pool_root_is_checked_too(tree, tmp_path):
    root, _, ckpt = tree
    logs = []
    select_topk(
        TINY_CLS_CONFIG,
        ckpt,
        osp.join(root, 'pool.txt'),
        2,
        str(tmp_path / 'd.txt'),
        data_prefix=str(tmp_path),
        num_workers=0,
        progress=False,
        log=logs.append)
    assert logs[0].startswith(
        f"WARNING: 9 of the first 9 paths of {osp.join(root, 'pool.txt')!r} "
        f'do not exist under --data-prefix {str(tmp_path)!r}')


def test_cli_labeled_prefix(tree, tmp_path):
    root, data, ckpt = tree
    out = str(tmp_path / 'cli.txt')
    proc = run_tool([
        SELECT, TINY_CLS_CONFIG, ckpt, '--pool',
        osp.join(root, 'pool.txt'), '--data-prefix', data, '--k', '2', '--out', out,
        '--num-workers', '0', '--no-progress', '--labeled',
        osp.join(root, 'labeled.txt'), '--labeled-prefix',
        osp.join(data, 'labeled')
    ])
    assert '2 labeled paths rewritten' in proc.stdout
    with open(out) as f:
        assert f.read().splitlines()[:2] == ['labeled/0.png 0', 'labeled/1.png 2']
