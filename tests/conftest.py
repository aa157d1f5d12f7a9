"""Shared fixtures: images written to temp folders, repo paths, subprocess runs."""
import os
import os.path as osp
import subprocess
import sys
from typing import List

import numpy as np
import pytest

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
TINY_CLS_CONFIG = osp.join(REPO, 'tests', 'data', 'configs', 'tiny_cls.py')
TINY_DISTILL_CONFIG = osp.join(REPO, 'tests', 'data', 'configs', 'tiny_distill.py')


def write_image_folder(root: str,
                       num_classes: int = 3,
                       per_class: int = 6,
                       size: int = 32,
                       seed: int = 0) -> str:
    """Write a CustomDataset folder ``root/class_i/img_j.png``.

    Each class has its own mean colour, so a tiny model can learn it.
    """
    import cv2
    rng = np.random.default_rng(seed)
    for c in range(num_classes):
        folder = osp.join(root, f'class_{c}')
        os.makedirs(folder, exist_ok=True)
        base = np.zeros(3)
        base[c % 3] = 200
        for j in range(per_class):
            img = np.clip(base + rng.normal(0, 30, (size, size, 3)), 0, 255)
            cv2.imwrite(osp.join(folder, f'img_{j}.png'), img.astype(np.uint8))
    return root


def run_tool(args: List[str],
             cwd: str = REPO,
             timeout: int = 600,
             env: dict = None) -> subprocess.CompletedProcess:
    """Run a tools/ script (or any command) and fail with its output."""
    full_env = dict(os.environ)
    full_env['PYTHONPATH'] = REPO + os.pathsep + full_env.get('PYTHONPATH', '')
    full_env.setdefault('OMP_NUM_THREADS', '1')
    if env:
        full_env.update(env)
    cmd = [sys.executable, *args] if args[0].endswith('.py') else args
    proc = subprocess.run(
        cmd, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(
            f'{cmd} exited {proc.returncode}\nSTDOUT:\n{proc.stdout[-4000:]}'
            f'\nSTDERR:\n{proc.stderr[-6000:]}')
    return proc


def skip_unless_required(reason: str, env_var: str) -> None:
    """Skip with ``reason``, or fail with it when ``env_var`` is set to
    something other than ``''``/``'0'``: ``make test`` (and so CI) sets
    ``SSLD_MM_REQUIRE_PARITY=1``, so a missing test environment there is a
    failure, while a plain ``pytest`` run still skips."""
    if os.environ.get(env_var, '') not in ('', '0'):
        pytest.fail(
            f'{reason} ({env_var}={os.environ[env_var]} makes this a '
            f'failure; set {env_var}=0 to skip instead)',
            pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    """A TCP port nobody listens on right now (for torchrun's master)."""
    import socket
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


DATA_MODULES = osp.join(REPO, 'tests', 'data', 'modules')


def rank_recorder_config(tmp_path, base_config: str):
    """``base_config`` plus the test hook ``RankIterRecorder`` (one file of
    trained images per rank). Returns ``(config, out_dir, env)``; pass ``env``
    to :func:`run_tool` so the processes can import the hook."""
    from mmengine.config import Config
    base = Config.fromfile(base_config)
    hooks = [dict(h) for h in base.get('custom_hooks', [])]
    out_dir = str(tmp_path / 'ranks')
    hooks.append(dict(type='RankIterRecorder', out_dir=out_dir))
    imports = list(base.get('custom_imports', {}).get('imports', []))
    cfg = tmp_path / 'with_rank_recorder.py'
    cfg.write_text(
        f'_base_ = [{base_config!r}]\n'
        f'custom_imports = dict(imports={imports + ["rank_iter_recorder"]!r}, '
        'allow_failed_imports=False)\n'
        f'custom_hooks = {hooks!r}\n')
    return str(cfg), out_dir, {'PYTHONPATH': os.pathsep.join([REPO, DATA_MODULES])}


def assert_each_rank_trained_its_share(log: str, out_dir: str, world_size: int,
                                       iters_per_rank: int, batch_size: int) -> None:
    """MMEngine saw ``world_size`` processes, and every rank trained
    ``iters_per_rank`` full batches of images no other rank trained."""
    assert f'GPU number: {world_size}' in log, (
        f'MMEngine did not log world size {world_size} ("GPU number: '
        f'{world_size}")\n' + log[-3000:])
    files = sorted(os.listdir(out_dir))
    assert files == [f'rank{r}_of{world_size}.txt' for r in range(world_size)], files
    seen = []
    for name in files:
        with open(osp.join(out_dir, name)) as f:
            lines = f.read().splitlines()
        assert len(lines) == iters_per_rank, (name, lines)
        images = [p for line in lines for p in line.split()]
        assert len(images) == iters_per_rank * batch_size, (name, images)
        seen.append(set(images))
    for r in range(1, world_size):
        assert not seen[0] & seen[r], f'ranks 0 and {r} trained the same images'


def pytest_sessionstart(session):
    """What the tools do before loading a config: ssld_mm's checkpoint I/O and
    the ``ssld_mm::`` config scope, for the in-process tests (``import
    ssld_mm`` does not do it; tools run as subprocesses do it themselves)."""
    from ssld_mm.utils import setup_runtime
    setup_runtime()


def tiny_classifier_cfg(width: int = 8,
                        num_classes: int = 3,
                        head_type: str = 'mmpretrain.LinearClsHead',
                        **head) -> dict:
    """Config of a small MMPretrain ImageClassifier: a ResNet-18 layout
    ``width`` channels wide at the stem (``8 * width`` at the end), global
    average pooling and a ``head_type`` head (extra head arguments in
    ``head``)."""
    return dict(
        type='mmpretrain.ImageClassifier',
        backbone=dict(
            type='mmpretrain.ResNet',
            depth=18,
            stem_channels=width,
            base_channels=width,
            out_indices=(3, )),
        neck=dict(type='mmpretrain.GlobalAveragePooling'),
        head=dict(
            type=head_type, num_classes=num_classes, in_channels=width * 8, **head))


@pytest.fixture
def image_folder(tmp_path):
    return write_image_folder(str(tmp_path / 'images'))


@pytest.fixture
def tiny_teacher(tmp_path):
    """``(checkpoint path, teacher)``: the teacher of ``tiny_distill.py``
    (seed 0, initialised), saved as an MMEngine checkpoint."""
    import torch
    from mmengine.config import Config

    from ssld_mm.registry import MODELS
    from ssld_mm.utils import register_all_modules
    register_all_modules()
    torch.manual_seed(0)
    teacher = MODELS.build(Config.fromfile(TINY_DISTILL_CONFIG).teacher)
    teacher.init_weights()
    path = str(tmp_path / 'teacher.pth')
    torch.save({'state_dict': teacher.state_dict(), 'meta': {}}, path)
    return path, teacher


@pytest.fixture
def tiny_teacher_ckpt(tiny_teacher):
    """The checkpoint path of :func:`tiny_teacher`."""
    return tiny_teacher[0]


@pytest.fixture(autouse=True)
def _clean_mmengine_globals():
    """Leave no DefaultScope / MessageHub instance behind a test."""
    yield
    from mmengine.registry import DefaultScope
    from mmengine.logging import MessageHub, MMLogger
    from mmengine.visualization import Visualizer
    for manager in (DefaultScope, MessageHub, MMLogger, Visualizer):
        manager._instance_dict.clear()
