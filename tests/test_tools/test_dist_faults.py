"""Distributed faults: with tools/dist_train.sh CONFIG 2 on the CPU, a rank that
raises (or is SIGKILLed) at iteration k ends the whole job non-zero within a
bounded time, and the checkpoints written before stay complete and loadable."""
import os.path as osp
import subprocess
import sys
import textwrap
import time

import pytest
import torch
from conftest import REPO, TINY_DISTILL_CONFIG, free_port

DISTILL = TINY_DISTILL_CONFIG
BOUND_S = 120  # the job must be over by then (gloo's own timeout is 30 min)

FAULT_MODULE = '''
"""Test-only hook: rank FAULT_RANK fails after iteration FAULT_ITER."""
import os
import signal

from mmengine.dist import get_rank
from mmengine.hooks import Hook

from ssld_mm.registry import HOOKS


@HOOKS.register_module()
class FailOnRankHook(Hook):

    def __init__(self, rank, at_iter, how):
        self.rank, self.at_iter, self.how = rank, at_iter, how

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if get_rank() == self.rank and runner.iter + 1 == self.at_iter:
            if self.how == 'kill':
                os.kill(os.getpid(), signal.SIGKILL)
            raise RuntimeError(f'injected fault on rank {self.rank} at '
                               f'iteration {self.at_iter}')
'''


@pytest.mark.parametrize('how', ['raise', 'kill'])
def test_a_failing_rank_ends_the_job_and_keeps_checkpoints(how, tmp_path, image_folder,
                                                           tiny_teacher_ckpt):
    (tmp_path / 'fault_hooks.py').write_text(FAULT_MODULE)
    cfg = tmp_path / 'cfg.py'
    # 18 images, 2 ranks x batch 4: 2 iterations per epoch; rank 1 fails in
    # epoch 3 after epoch_1.pth and epoch_2.pth were written
    cfg.write_text(
        textwrap.dedent(f'''
        _base_ = [{DISTILL!r}]
        custom_imports = dict(imports=['ssld_mm', 'fault_hooks'],
                              allow_failed_imports=False)
        custom_hooks = [dict(type='FailOnRankHook', rank=1, at_iter=5, how={how!r})]
        train_cfg = dict(max_epochs=3, val_interval=100)
        param_scheduler = [dict(type='CosineAnnealingLR', T_max=3, by_epoch=True)]
        default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=-1))
    '''))
    work = tmp_path / 'work'
    cmd = [
        'bash',
        osp.join(REPO, 'tools', 'dist_train.sh'),
        str(cfg), '2', '--work-dir',
        str(work), '--no-validate', '--cfg-options',
        f'model.teacher_ckpt={tiny_teacher_ckpt}',
        f'train_dataloader.dataset.data_root={image_folder}'
    ]
    env = dict(
        __import__('os').environ,
        PORT=str(free_port()),
        OMP_NUM_THREADS='1',
        PYTHON=sys.executable)
    start = time.time()
    proc = subprocess.run(
        cmd,
        cwd=str(tmp_path),
        env=env,
        capture_output=True,
        text=True,
        timeout=BOUND_S)
    elapsed = time.time() - start
    out = proc.stdout + proc.stderr
    print(f'{how}: job ended rc={proc.returncode} after {elapsed:.1f} s')
    assert proc.returncode != 0, out[-3000:]
    assert elapsed < BOUND_S
    if how == 'raise':
        assert 'injected fault on rank 1 at iteration 5' in out, out[-3000:]
    assert 'epoch_3.pth' not in [p.name for p in work.iterdir()]
    from ssld_mm.utils import load_local_checkpoint
    from ssld_mm.utils.checkpoint import (check_checkpoint_file,
                                          find_resumable_checkpoint)
    for epoch in (1, 2):
        path = str(work / f'epoch_{epoch}.pth')
        check_checkpoint_file(path)
        ckpt = load_local_checkpoint(path)
        assert ckpt['meta']['epoch'] == epoch
        assert all(
            torch.isfinite(v).all() for v in ckpt['state_dict'].values()
            if v.is_floating_point())
    assert find_resumable_checkpoint(str(work)) == str(work / 'epoch_2.pth')
