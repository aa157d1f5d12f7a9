"""Converted PaddleClas models compute what the Paddle models compute.

PaddleClas's own model files (from the ``paddleclas`` package in
``.venv-paddle``, made by ``tools/setup_paddle_env.sh``) build each model
with random weights and random BN statistics; ``paddle_side.py`` saves its
``.pdparams``, a random input and the eval-mode fp32 logits. Here the file is
converted, our config is built, the checkpoint loaded strictly, and the
logits compared: ``max |ours - paddle| <= 1e-4 * max(1, max |paddle|)``.

The input is 2x3x72x72: odd feature maps (9x9, 5x5) on the way exercise the
ceil-mode average pools of the "vd" shortcuts and the Res2Net split pool.
``SSLD_MM_PARITY_ALL=1`` runs the logit comparison for all 29 archs
(about 2 minutes on 2 cores); by default a representative subset runs, and
every arch is checked for keys and shapes.
"""
import json
import os
import os.path as osp
import subprocess

import numpy as np
import pytest
import torch
from conftest import REPO, skip_unless_required
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import load_checkpoint
from paddle_test_utils import HERE, save_pdparams, to_dygraph

from ssld_mm.converters import (PADDLE_ARCHS, convert_paddle_state, convert_pdparams,
                                get_arch, load_pdparams)

PADDLE_PYTHON = os.environ.get('SSLD_MM_PADDLE_PYTHON',
                               osp.join(REPO, '.venv-paddle', 'bin', 'python'))
PADDLE_SIDE = osp.join(HERE, 'paddle_side.py')
INPUT = '2,3,72,72'
PARITY_ARCHS = [
    'ResNet50_vd', 'ResNet18_vd', 'MobileNetV3_large_x1_0', 'MobileNetV3_small_x1_0',
    'MobileNetV3_small_x0_35', 'MobileNetV1', 'MobileNetV2_x0_75', 'Res2Net50_vd_26w_4s'
]
ALL = os.environ.get('SSLD_MM_PARITY_ALL', '') not in ('', '0')


@pytest.fixture(scope='module', autouse=True)
def _paddle_env():
    """Skip without the Paddle env; under ``make test`` / CI
    (``SSLD_MM_REQUIRE_PARITY=1``) its absence is a failure."""
    if not osp.isfile(PADDLE_PYTHON):
        skip_unless_required(
            f'Paddle parity env absent ({PADDLE_PYTHON}); create it with '
            'tools/setup_paddle_env.sh (`make test` does)', 'SSLD_MM_REQUIRE_PARITY')


def run_paddle(args, timeout=900):
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get('OMP_NUM_THREADS', '1'))
    proc = subprocess.run([PADDLE_PYTHON, PADDLE_SIDE, *args],
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(f'paddle_side.py {args[:1]} failed:\n'
                             f'{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}')
    return proc


@pytest.fixture(scope='module')
def paddle_dump(tmp_path_factory):
    """Paddle weights/input/logits of the archs compared here."""
    out = tmp_path_factory.mktemp('paddle')
    archs = list(PADDLE_ARCHS) if ALL else PARITY_ARCHS
    run_paddle(['dump', '--out', str(out), '--seed', '0', '--input', INPUT, *archs])
    return out


def build_from_config(arch, overrides=None):
    import ssld_mm.models  # noqa: F401
    import ssld_mm.models.heads  # noqa: F401
    from ssld_mm.registry import MODELS
    cfg = Config.fromfile(
        osp.join(REPO, 'configs', 'paddleclas',
                 get_arch(arch).config_name + '.py'))
    cfg.merge_from_dict(overrides or {})
    with DefaultScope.overwrite_default_scope('ssld_mm'):
        model = MODELS.build(cfg.model)
    return model.eval()


def logits(model, x):
    with torch.no_grad():
        return model(torch.from_numpy(x), mode='tensor').numpy()


def assert_parity(ours, ref, what):
    tol = 1e-4 * max(1.0, float(np.abs(ref).max()))
    diff = float(np.abs(ours - ref).max())
    assert diff <= tol, f'{what}: max |diff| {diff:.3g} > {tol:.3g}'
    return diff / tol


def check_arch(arch, dump, tmp_path):
    src = osp.join(dump, arch + '.pdparams')
    dst = str(tmp_path / (arch + '.pth'))
    convert_pdparams(src, dst, arch)
    model = build_from_config(arch)
    load_checkpoint(model, dst, map_location='cpu', strict=True, logger='silent')
    x = np.load(osp.join(dump, arch + '_input.npy'))
    ref = np.load(osp.join(dump, arch + '_logits.npy'))
    assert ref.shape == (2, 1000)
    return assert_parity(logits(model, x), ref, arch)


@pytest.mark.parametrize('arch', PARITY_ARCHS)
def test_logits_match_paddle(arch, paddle_dump, tmp_path):
    check_arch(arch, paddle_dump, tmp_path)


@pytest.mark.skipif(
    not ALL,
    reason='set SSLD_MM_PARITY_ALL=1 to compare the '
    'logits of all 29 archs (about 2 minutes)')
def test_logits_match_paddle_all_archs(paddle_dump, tmp_path):
    ratios = {arch: check_arch(arch, paddle_dump, tmp_path) for arch in PADDLE_ARCHS}
    assert max(ratios.values()) <= 1.0


@pytest.mark.parametrize('arch', ['ResNet50_vd', 'MobileNetV3_large_x1_0'])
def test_paddleclas_2_0_names_match_paddle(arch, paddle_dump, tmp_path):
    state = load_pdparams(osp.join(paddle_dump, arch + '.pdparams'))
    old = save_pdparams(
        to_dygraph(arch, state), str(tmp_path / (arch + '_dygraph.pdparams')))
    dst = str(tmp_path / 'old.pth')
    assert convert_pdparams(old, dst, arch)['meta']['naming'] == 'dygraph'
    model = build_from_config(arch)
    load_checkpoint(model, dst, strict=True, logger='silent')
    x = np.load(osp.join(paddle_dump, arch + '_input.npy'))
    assert_parity(
        logits(model, x), np.load(osp.join(paddle_dump, arch + '_logits.npy')), arch)


def test_mmdet_resnet50_vd_backbone_matches_paddle(paddle_dump, tmp_path):
    """MMDetection's ResNetV1d with --format mmdet weights, + the fc of the
    classifier checkpoint, reproduces the Paddle logits."""
    from mmdet.models.backbones import ResNetV1d
    src = osp.join(paddle_dump, 'ResNet50_vd.pdparams')
    det_ckpt = convert_pdparams(
        src, str(tmp_path / 'det.pth'), 'ResNet50_vd', fmt='mmdet')
    cls_ckpt = convert_pdparams(src, str(tmp_path / 'cls.pth'), 'ResNet50_vd')
    backbone = ResNetV1d(depth=50, out_indices=(3, ))
    backbone.eval()  # mmdet's ResNet.train() returns None
    load_checkpoint(backbone, str(tmp_path / 'det.pth'), strict=True, logger='silent')
    assert det_ckpt['meta']['mmdet_backbone'] == dict(type='ResNetV1d', depth=50)
    fc = torch.nn.Linear(2048, 1000)
    fc.load_state_dict({
        'weight': cls_ckpt['state_dict']['head.fc.weight'],
        'bias': cls_ckpt['state_dict']['head.fc.bias']
    })
    x = np.load(osp.join(paddle_dump, 'ResNet50_vd_input.npy'))
    with torch.no_grad():
        feat = backbone(torch.from_numpy(x))[-1].mean(dim=(2, 3))
        ours = fc(feat).numpy()
    assert_parity(ours, np.load(osp.join(paddle_dump, 'ResNet50_vd_logits.npy')),
                  'mmdet ResNetV1d')


def test_mmpretrain_res2net_is_not_paddleclas_res2net_vd(paddle_dump, tmp_path):
    """Why ssld_mm.PaddleRes2Net exists: mmpretrain.Res2Net has the same
    parameters (the checkpoint loads strictly) but computes something else."""
    arch = 'Res2Net50_vd_26w_4s'
    dst = str(tmp_path / 'r2n.pth')
    convert_pdparams(osp.join(paddle_dump, arch + '.pdparams'), dst, arch)
    model = build_from_config(arch, {'model.backbone.type': 'mmpretrain.Res2Net'})
    assert type(model.backbone).__name__ == 'Res2Net'
    load_checkpoint(model, dst, strict=True, logger='silent')
    x = np.load(osp.join(paddle_dump, arch + '_input.npy'))
    ref = np.load(osp.join(paddle_dump, arch + '_logits.npy'))
    diff = np.abs(logits(model, x) - ref).max()
    assert diff > 100 * 1e-4 * max(1.0, float(np.abs(ref).max()))


def test_every_arch_converts_from_paddleclas_keys(tmp_path):
    """All 29 archs: every PaddleClas tensor name and shape maps, and the
    result covers our model (keys only; Paddle builds them lazily)."""
    run_paddle(['keys', '--out', str(tmp_path), *PADDLE_ARCHS])
    for arch in PADDLE_ARCHS:
        with open(tmp_path / (arch + '.json')) as f:
            shapes = json.load(f)
        state = {k: np.zeros(v, np.float32) for k, v in shapes.items()}
        converted, info = convert_paddle_state(state, arch)
        assert info['arch'] == arch and len(converted) >= len(shapes), arch


def test_committed_key_fixtures_match_paddleclas(tmp_path):
    """The key lists the Paddle-free tests use are what PaddleClas builds."""
    fixtures = sorted(f[:-5] for f in os.listdir(osp.join(HERE, 'data'))
                      if f.endswith('.json'))
    run_paddle(['keys', '--out', str(tmp_path), *fixtures])
    for arch in fixtures:
        with open(osp.join(HERE, 'data', arch + '.json')) as f:
            committed = json.load(f)
        with open(tmp_path / (arch + '.json')) as f:
            assert json.load(f) == committed, arch
