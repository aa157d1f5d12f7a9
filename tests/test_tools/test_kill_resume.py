"""Crash-safe checkpoints: a tiny CPU distillation run SIGKILLed at several
moments (after an iteration, in the middle of a checkpoint save, between the
save and ``last_checkpoint``, at a random time), resumed with ``--resume`` each
time, ends with the weights of an uninterrupted run. Epoch- and iteration-based.

Runs are forked from the test process (``tools/train.py`` executed in the child),
so each costs no interpreter start-up; faults are injected in the child only.
"""
import multiprocessing
import os
import os.path as osp
import runpy
import signal
import sys
import time

import numpy as np
import pytest
import torch
from conftest import REPO, TINY_DISTILL_CONFIG

TRAIN = osp.join(REPO, 'tools', 'train.py')
DISTILL = TINY_DISTILL_CONFIG

EPOCH_CFG = f"""
_base_ = [{DISTILL!r}]
custom_hooks = []
default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=1))
"""
ITER_CFG = f"""
_base_ = [{DISTILL!r}]
custom_hooks = []
train_cfg = dict(_delete_=True, by_epoch=False, max_iters=8, val_interval=1000)
train_dataloader = dict(sampler=dict(type='InfiniteSampler', shuffle=True))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=8, by_epoch=False)]
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=3, max_keep_ckpts=2))
log_processor = dict(by_epoch=False)
"""


def _kill_self():
    os.kill(os.getpid(), signal.SIGKILL)


def _install_fault(fault):
    """Patch the child so that it SIGKILLs itself at the given moment."""
    if fault is None or fault[0] == 'random':
        return
    kind, n = fault
    count = [0]

    def tick():
        count[0] += 1
        if count[0] == n:
            _kill_self()

    if kind == 'after_iter':  # after the n-th optimizer step of this run
        from mmengine.optim import OptimWrapper
        orig = OptimWrapper.update_params

        def update_params(self, *a, **k):
            out = orig(self, *a, **k)
            tick()
            return out

        OptimWrapper.update_params = update_params
    elif kind == 'in_save':  # temp file of the n-th save written, not renamed
        orig_fsync = os.fsync

        def fsync(fd):
            orig_fsync(fd)
            if '.pth.tmp-' in os.readlink(f'/proc/self/fd/{fd}'):
                tick()

        os.fsync = fsync
    elif kind == 'after_save':  # n-th checkpoint saved, last_checkpoint not yet
        from mmengine.runner import Runner
        orig_save = Runner.save_checkpoint

        def save_checkpoint(self, *a, **k):
            orig_save(self, *a, **k)
            tick()

        Runner.save_checkpoint = save_checkpoint
    else:
        raise ValueError(fault)


def _child(argv, fault, log):
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    # line-buffered streams on the log file (pytest's capture objects would
    # hold the text, and a SIGKILL would lose what is buffered)
    sys.stdout = open(1, 'w', buffering=1, closefd=False)
    sys.stderr = open(2, 'w', buffering=1, closefd=False)
    torch.set_num_threads(1)
    _install_fault(fault)
    sys.argv = [TRAIN, *argv]
    try:
        runpy.run_path(TRAIN, run_name='__main__')
    except BaseException:  # noqa: BLE001
        import traceback
        traceback.print_exc()
        sys.stderr.flush()
        os._exit(1)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _run(argv, fault=None, log=None, timeout=120):
    """Run tools/train.py in a forked child; returns (exit code, its output)."""
    ctx = multiprocessing.get_context('fork')
    open(log, 'w').close()
    proc = ctx.Process(target=_child, args=(argv, fault, log))
    proc.start()
    if fault is not None and fault[0] == 'random':
        proc.join(fault[1])
        if proc.is_alive():
            os.kill(proc.pid, signal.SIGKILL)
    proc.join(timeout)
    assert not proc.is_alive(), 'training child hung'
    return proc.exitcode, open(log).read()


def _final_state(path):
    from ssld_mm.utils import load_local_checkpoint
    return load_local_checkpoint(path)['state_dict']


def _progress(work):
    """The highest step among the complete checkpoints of ``work`` (0: none)."""
    from ssld_mm.utils.checkpoint import check_checkpoint_file
    best = 0
    for name in os.listdir(work) if osp.isdir(work) else []:
        if name.endswith('.pth') and not name.startswith('.'):
            try:
                check_checkpoint_file(osp.join(work, name))
            except RuntimeError:
                continue
            best = max(best, int(name[:-4].split('_')[-1]))
    return best


def _assert_same(a, b):
    assert a.keys() == b.keys()
    worst = 0.0
    for k in a:
        diff = (a[k].double() - b[k].double()).abs().max().item() if a[k].numel() else 0
        assert diff <= 1e-5, (k, diff)
        worst = max(worst, diff)
    print(f'killed and resumed vs uninterrupted: max |diff| = {worst:.3g}')


def _argv(cfg, work, folder, ckpt, resume):
    return [
        cfg, '--work-dir', work, '--no-validate', *(['--resume'] if resume else []),
        '--cfg-options', f'model.teacher_ckpt={ckpt}',
        f'train_dataloader.dataset.data_root={folder}'
    ]


def _scenario(tmp_path, folder, ckpt, cfg_text, faults, final_name, kept, corrupt=None):
    cfg = str(tmp_path / 'cfg.py')
    with open(cfg, 'w') as f:
        f.write(cfg_text)
    log = str(tmp_path / 'child.log')
    t0 = time.time()
    code, out = _run(_argv(cfg, str(tmp_path / 'base'), folder, ckpt, False), log=log)
    assert code == 0, out[-3000:]
    clean_time = time.time() - t0
    reference = _final_state(str(tmp_path / 'base' / final_name))

    work = str(tmp_path / 'killed')
    outputs, codes = [], []
    rng = np.random.default_rng(0)
    for i, fault in enumerate(faults):
        if fault == 'corrupt':  # truncated newest checkpoint in last_checkpoint
            corrupt(work)
            continue
        if fault == 'random':
            fault = ('random', float(rng.uniform(0.2, 0.9)) * clean_time)
        before = _progress(work)
        code, out = _run(_argv(cfg, work, folder, ckpt, i > 0), fault, log)
        outputs.append(out)
        codes.append(code)
        # a kill never costs a checkpoint that was complete before it
        assert _progress(work) >= before, (fault, before, _progress(work))
        if fault[0] != 'random':
            assert code == -signal.SIGKILL, (fault, code, out[-3000:])
    code, out = _run(_argv(cfg, work, folder, ckpt, True), log=log)
    assert code == 0, out[-3000:]
    outputs.append(out)
    _assert_same(reference, _final_state(osp.join(work, final_name)))
    leftovers = [n for n in os.listdir(work) if '.tmp-' in n]
    assert not leftovers, leftovers
    for folder in ('base', 'killed'):  # max_keep_ckpts still prunes
        names = os.listdir(tmp_path / folder)
        assert sorted(n for n in names if n.endswith('.pth')) == kept, names
    return outputs, codes


def test_epoch_based_run_killed_and_resumed_matches_uninterrupted(
        tmp_path, image_folder, tiny_teacher_ckpt):

    def corrupt(work):
        data = open(osp.join(work, 'epoch_1.pth'), 'rb').read()
        with open(osp.join(work, 'epoch_2.pth'), 'wb') as f:
            f.write(data[:len(data) // 3])
        with open(osp.join(work, 'last_checkpoint'), 'w') as f:
            f.write(osp.join(work, 'epoch_2.pth'))

    faults = [
        ('after_iter', 2),  # 0: before any checkpoint
        ('in_save', 1),  # 1: fresh again (warned); killed saving epoch_1
        ('after_save', 1),  # 2: epoch_1.pth written, last_checkpoint not
        ('in_save', 1),  # 3: resumes epoch_1; killed saving epoch_2 (keep 1)
        'corrupt',  # a truncated epoch_2.pth named in last_checkpoint
        'random',  # 4: skips it, resumes epoch_1; killed at random
    ]
    outputs, _ = _scenario(tmp_path, image_folder, tiny_teacher_ckpt, EPOCH_CFG, faults,
                           'epoch_2.pth', ['epoch_2.pth'], corrupt)
    assert 'no checkpoint found' in outputs[1] and 'fresh run' in outputs[1]
    assert 'interrupted checkpoint save' in outputs[2]
    assert 'epoch_1.pth' in outputs[3] and 'Auto resumed' in outputs[3]
    # the random kill may come before or after the resume point
    after = outputs[4] + outputs[5]
    assert 'skipping' in after, after[-3000:]
    assert 'epoch_2.pth: checkpoint file' in after, after[-3000:]


def test_iteration_based_run_killed_and_resumed_matches_uninterrupted(
        tmp_path, image_folder, tiny_teacher_ckpt):
    faults = [('after_iter', 4), ('in_save', 1), 'random']
    outputs, _ = _scenario(tmp_path, image_folder, tiny_teacher_ckpt, ITER_CFG, faults,
                           'iter_8.pth', ['iter_6.pth', 'iter_8.pth'])
    assert 'iter_3.pth' in outputs[1]


def test_explicit_resume_of_a_truncated_file_fails_clearly(tmp_path):
    from mmengine.config import Config

    from ssld_mm.utils import cli
    bad = tmp_path / 'epoch_3.pth'
    torch.save({'state_dict': {'w': torch.ones(1000)}}, str(bad))
    bad.write_bytes(bad.read_bytes()[:500])
    with pytest.raises(RuntimeError, match=r'--resume .*epoch_3\.pth.*truncated'):
        cli.set_resume(Config(dict()), str(bad))
