"""tools/train.py and tools/test.py as subprocesses on a tiny classifier."""
import glob
import os.path as osp
import shutil

import pytest
import torch
from conftest import (REPO, TINY_CLS_CONFIG, assert_each_rank_trained_its_share,
                      free_port, rank_recorder_config, run_tool)

TRAIN = osp.join(REPO, 'tools', 'train.py')
TEST = osp.join(REPO, 'tools', 'test.py')


def data_opts(folder):
    return [
        f'train_dataloader.dataset.data_root={folder}',
        f'val_dataloader.dataset.data_root={folder}',
        f'test_dataloader.dataset.data_root={folder}'
    ]


def load_state(path):
    return torch.load(path, map_location='cpu', weights_only=False)['state_dict']


def sha256(path) -> str:
    import hashlib
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def assert_resumed_at_epoch_1(out: str) -> None:
    """The run loaded epoch 1 and trained epoch 2 only (max_epochs=2)."""
    assert 'resumed epoch: 1' in out, 'no "resumed epoch: 1" in the log\n' + out[-3000:]
    assert 'Epoch(train) [2]' in out and 'Epoch(train) [1]' not in out, (
        'the resumed run should train epoch 2 only\n' + out[-3000:])


def test_train_resume_matches_uninterrupted_run(tmp_path, image_folder):
    full = tmp_path / 'full'
    run_tool([
        TRAIN, TINY_CLS_CONFIG, '--work-dir',
        str(full), '--cfg-options', *data_opts(image_folder)
    ])
    assert osp.isfile(full / 'epoch_1.pth') and osp.isfile(full / 'epoch_2.pth')

    # Interrupted run: same work dir layout, only epoch 1 survives, then
    # `--resume` (auto) picks it up through the last_checkpoint file.
    part = tmp_path / 'part'
    part.mkdir()
    shutil.copy(full / 'epoch_1.pth', part / 'epoch_1.pth')
    (part / 'last_checkpoint').write_text(str(part / 'epoch_1.pth'))
    proc = run_tool([
        TRAIN, TINY_CLS_CONFIG, '--work-dir',
        str(part), '--resume', '--cfg-options', *data_opts(image_folder)
    ])
    assert_resumed_at_epoch_1(proc.stdout + proc.stderr)

    a, b = load_state(full / 'epoch_2.pth'), load_state(part / 'epoch_2.pth')
    before = load_state(full / 'epoch_1.pth')
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    # training did change the weights between epoch 1 and 2
    assert any(not torch.equal(a[k], before[k]) for k in a if a[k].is_floating_point())


def test_resume_from_explicit_path_and_test_tool(tmp_path, image_folder):
    work = tmp_path / 'w'
    run_tool([
        TRAIN, TINY_CLS_CONFIG, '--work-dir',
        str(work), '--cfg-options', 'train_cfg.max_epochs=1', *data_opts(image_folder)
    ])
    ckpt = work / 'epoch_1.pth'
    digest = sha256(ckpt)
    proc = run_tool([
        TRAIN, TINY_CLS_CONFIG, '--work-dir',
        str(work), '--resume',
        str(ckpt), '--cfg-options', *data_opts(image_folder)
    ])
    assert osp.isfile(work / 'epoch_2.pth')
    assert_resumed_at_epoch_1(proc.stdout + proc.stderr)
    # a fresh run would have rewritten epoch 1
    assert sha256(ckpt) == digest, 'epoch_1.pth was rewritten'
    before, after = load_state(ckpt), load_state(work / 'epoch_2.pth')
    assert any(not torch.equal(after[k], before[k]) for k in after
               if after[k].is_floating_point())
    out = tmp_path / 'preds.pkl'
    proc = run_tool([
        TEST, TINY_CLS_CONFIG,
        str(work / 'epoch_2.pth'), '--work-dir',
        str(work), '--out',
        str(out), '--cfg-options', *data_opts(image_folder)
    ])
    assert 'accuracy/top1' in proc.stdout + proc.stderr
    import pickle
    with open(out, 'rb') as f:
        preds = pickle.load(f)
    assert len(preds) == 18  # 3 classes x 6 images


def test_train_missing_resume_file_is_clear_error(tmp_path, image_folder):
    with pytest.raises(
            AssertionError, match='--resume checkpoint .*nope.pth.* does not exist'):
        run_tool([
            TRAIN, TINY_CLS_CONFIG, '--work-dir',
            str(tmp_path), '--resume',
            str(tmp_path / 'nope.pth')
        ])


def test_train_amp_flag_on_cpu_is_clear_error(tmp_path, image_folder):
    with pytest.raises(AssertionError, match='--amp needs a GPU'):
        run_tool([
            TRAIN, TINY_CLS_CONFIG, '--work-dir',
            str(tmp_path), '--amp', '--cfg-options', *data_opts(image_folder)
        ])


def test_dist_train_two_cpu_processes(tmp_path, image_folder):
    work = tmp_path / 'dist'
    config, ranks, env = rank_recorder_config(tmp_path, TINY_CLS_CONFIG)
    proc = run_tool([
        'bash',
        osp.join(REPO, 'tools', 'dist_train.sh'), config, '2', '--work-dir',
        str(work), '--verbose', '--cfg-options', 'train_cfg.max_epochs=1',
        *data_opts(image_folder)
    ],
                    env={
                        'PORT': str(free_port()),
                        **env
                    })
    out = proc.stdout + proc.stderr
    assert 'Distributed training: True' in out  # --verbose: env on the console
    # 18 images, 9 per rank, batch 4 with drop_last: 2 iterations per rank
    assert_each_rank_trained_its_share(
        out, ranks, world_size=2, iters_per_rank=2, batch_size=4)
    assert ('gloo' in out or 'CPUAwareDistributedDataParallel' in out
            or 'Epoch(train)' in out)
    # only rank 0 writes: one checkpoint, one log folder with one log file
    assert sorted(osp.basename(p)
                  for p in glob.glob(str(work / '*.pth'))) == ['epoch_1.pth']
    logs = glob.glob(str(work / '*' / '*.log'))
    assert len(logs) == 1, logs
    assert len(glob.glob(str(work / '*' / 'vis_data'))) == 1


def test_launchers_check_arguments_and_build_srun_command(tmp_path):
    import os
    import subprocess
    for script, usage in (('dist_train.sh', 'CONFIG GPUS'), ('dist_test.sh',
                                                             'CONFIG CHECKPOINT GPUS'),
                          ('slurm_train.sh', 'PARTITION JOB_NAME CONFIG WORK_DIR'),
                          ('slurm_test.sh', 'PARTITION JOB_NAME CONFIG CHECKPOINT')):
        proc = subprocess.run(
            ['bash', osp.join(REPO, 'tools', script), 'only-one'],
            capture_output=True,
            text=True)
        assert proc.returncode == 2 and usage in proc.stderr, (script, proc.stderr)
    # a fake srun records how slurm_train.sh calls it
    fake = tmp_path / 'bin'
    fake.mkdir()
    (fake / 'srun').write_text('#!/usr/bin/env bash\nprintf "%s\\n" "$@"\n')
    (fake / 'srun').chmod(0o755)
    env = dict(
        os.environ,
        PATH=f'{fake}:{os.environ["PATH"]}',
        GPUS='16',
        GPUS_PER_NODE='8',
        CPUS_PER_TASK='4',
        SRUN_ARGS='--quotatype=auto')
    proc = subprocess.run([
        'bash',
        osp.join(REPO, 'tools', 'slurm_train.sh'), 'part', 'job', 'cfg.py', 'work',
        '--amp'
    ],
                          capture_output=True,
                          text=True,
                          env=env,
                          check=True)
    args = proc.stdout.split('\n')
    assert args[:8] == [
        '-p', 'part', '--job-name=job', '--gres=gpu:8', '--ntasks=16',
        '--ntasks-per-node=8', '--cpus-per-task=4', '--kill-on-bad-exit=1'
    ]
    assert args[8] == '--quotatype=auto'
    assert args[9].endswith('python') and args[10] == '-u'
    assert args[11:] == [
        osp.join(REPO, 'tools', 'train.py'), 'cfg.py', '--work-dir=work', '--amp',
        '--launcher=slurm', ''
    ]
