"""R50_vd detection backbones load ssld_mm checkpoints of every layout,
value-exact and strictly (with and without DCNv2)."""
import os.path as osp
import sys

import pytest
import torch
from conftest import REPO
from mmengine.registry import DefaultScope

sys.path.insert(0, osp.join(REPO, 'tests', 'test_converters'))
from paddle_test_utils import random_state, save_pdparams  # noqa: E402

DCN = dict(type='DCNv2', deform_groups=1, fallback_on_stride=False)
# mmdet ResNetV1d stem index -> mmpretrain ResNetV1d stem module (hand-written,
# independent of ssld_mm.converters): (conv, bn, relu) x 3 flattened.
STEM = {
    '0': 'stem.0.conv',
    '1': 'stem.0.bn',
    '3': 'stem.1.conv',
    '4': 'stem.1.bn',
    '6': 'stem.2.conv',
    '7': 'stem.2.bn'
}


def mmpretrain_key(mmdet_key):
    parts = mmdet_key.split('.')
    if parts[0] == 'stem':
        return 'backbone.' + STEM[parts[1]] + '.' + '.'.join(parts[2:])
    if mmdet_key.startswith('layer1.0.downsample.'):
        parts[3] = str(int(parts[3]) - 1)  # no avg pool in layer1's shortcut
    return 'backbone.' + '.'.join(parts)


@pytest.fixture(scope='module')
def checkpoints(tmp_path_factory):
    """The three layouts ssld_mm writes, from one random ResNet50_vd."""
    from ssld_mm.converters import convert_pdparams
    from ssld_mm.converters.extract_student import extract_student
    root = tmp_path_factory.mktemp('r50vd_ckpts')
    pdparams = save_pdparams(
        random_state('ResNet50_vd', seed=1), str(root / 'ResNet50_vd_ssld.pdparams'))
    paths = {}
    for fmt in ('mmpretrain', 'mmdet'):
        paths[f'paddle-{fmt}'] = str(root / f'paddle_{fmt}.pth')
        convert_pdparams(pdparams, paths[f'paddle-{fmt}'], 'ResNet50_vd', fmt)
    # A distiller checkpoint (student.*) -> extract_student.py -> classifier.
    cls = torch.load(paths['paddle-mmpretrain'])['state_dict']
    student = {
        f'student.{k}': v + 1 if v.is_floating_point() else v
        for k, v in cls.items()
    }
    torch.save({'state_dict': student, 'meta': {}}, str(root / 'distill.pth'))
    paths['student'] = str(root / 'student.pth')
    extract_student(str(root / 'distill.pth'), paths['student'])
    return paths


def build_backbone(checkpoint, dcn=False):
    from mmdet.registry import MODELS

    import ssld_mm.models  # noqa: F401
    cfg = dict(
        type='ssld_mm.SSLDResNetV1d',
        depth=50,
        frozen_stages=1,
        norm_cfg=dict(type='BN', requires_grad=False),
        norm_eval=True,
        init_cfg=dict(type='Pretrained', checkpoint=checkpoint))
    if dcn:
        cfg.update(dcn=DCN, stage_with_dcn=(False, True, True, True))
    with DefaultScope.overwrite_default_scope('mmdet'):
        backbone = MODELS.build(cfg)
        backbone.init_weights()
    return backbone


@pytest.mark.parametrize('dcn', [False, True], ids=['plain', 'dcnv2'])
@pytest.mark.parametrize('layout', ['student', 'paddle-mmpretrain', 'paddle-mmdet'])
def test_every_layout_loads_value_exact(checkpoints, layout, dcn):
    from mmdet.models.backbones import ResNetV1d
    source = torch.load(checkpoints[layout])['state_dict']
    backbone = build_backbone(checkpoints[layout], dcn)
    assert isinstance(backbone, ResNetV1d)
    offsets = 0
    for key, value in backbone.state_dict().items():
        if '.conv_offset.' in key:  # not in classifiers: MMCV's zero init
            assert dcn and key.startswith(('layer2', 'layer3', 'layer4'))
            assert not value.any(), key
            offsets += 1
            continue
        ref = source[key] if layout == 'paddle-mmdet' else source[mmpretrain_key(key)]
        assert torch.equal(value, ref), key
    assert offsets == (2 * (4 + 6 + 3) if dcn else 0)
    if layout == 'student':  # extract_student kept the distiller's values
        paddle = torch.load(checkpoints['paddle-mmpretrain'])['state_dict']
        assert torch.equal(backbone.stem[0].weight,
                           paddle['backbone.stem.0.conv.weight'] + 1)


def test_same_function_as_the_classifier_backbone(checkpoints):
    """mmdet layout after conversion computes what mmpretrain's ResNetV1d does."""
    from mmpretrain.models.backbones import ResNetV1d
    ref = ResNetV1d(depth=50, out_indices=(0, 1, 2, 3))
    state = torch.load(checkpoints['paddle-mmpretrain'])['state_dict']
    ref.load_state_dict({
        k[len('backbone.'):]: v
        for k, v in state.items() if k.startswith('backbone.')
    })
    det = build_backbone(checkpoints['paddle-mmpretrain'])
    ref.eval()
    det.eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        for a, b in zip(ref(x), det(x)):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_missing_checkpoint_stops_naming_the_file(tmp_path):
    missing = str(tmp_path / 'nope.pth')
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        build_backbone(missing)


def test_non_fitting_checkpoint_names_file_and_keys(checkpoints, tmp_path):
    state = dict(torch.load(checkpoints['paddle-mmpretrain'])['state_dict'])
    del state['backbone.layer3.2.conv2.weight']
    state['backbone.layer4.0.conv1.weight'] = torch.zeros(512, 1024, 3, 3)
    state['backbone.layer5.0.conv1.weight'] = torch.zeros(1)
    bad = str(tmp_path / 'bad.pth')
    torch.save({'state_dict': state}, bad)
    with pytest.raises(ValueError) as err:
        build_backbone(bad)
    msg = str(err.value)
    assert bad in msg and 'mmpretrain key layout' in msg
    assert 'missing keys (1):\n    layer3.2.conv2.weight' in msg
    assert 'unexpected keys (1):\n    layer5.0.conv1.weight' in msg
    assert ('layer4.0.conv1.weight: checkpoint (512, 1024, 3, 3) vs model '
            '(512, 1024, 1, 1)') in msg
    # A checkpoint of another network does not half-load either.
    other = str(tmp_path / 'mbv3.pth')
    torch.save({'state_dict': {
        'backbone.conv.weight': torch.zeros(16, 3, 3, 3)
    }}, other)
    with pytest.raises(ValueError, match=r'missing keys \(\d{3}\)'):
        build_backbone(other)


def test_no_checkpoint_warns_and_bad_init_cfg_raises():
    import logging

    from mmengine.logging import MMLogger

    import ssld_mm.models  # noqa: F401
    from ssld_mm.models.backbones import SSLDResNetV1d
    logger = MMLogger.get_current_instance()
    messages = []

    class Collect(logging.Handler):

        def emit(self, record):
            messages.append(record.getMessage())

    handler = Collect()
    logger.addHandler(handler)
    try:
        before = SSLDResNetV1d(
            depth=50, init_cfg=dict(type='Pretrained', checkpoint=None))
        before.init_weights()
    finally:
        logger.removeHandler(handler)
    assert any('init_cfg.checkpoint is not set' in m for m in messages)
    with pytest.raises(ValueError, match=r"only type and checkpoint.*'prefix'"):
        SSLDResNetV1d(
            depth=50,
            init_cfg=dict(type='Pretrained', checkpoint='x', prefix='backbone.'))
