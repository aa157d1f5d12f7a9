"""PaddleMobileNetV3's detection mode: PaddleDetection ``MobileNetV3RCNN`` taps
and loading classifier checkpoints into the detector backbone."""
import json
import os.path as osp

import numpy as np
import pytest
import torch
from conftest import REPO
from mmengine.registry import DefaultScope

from ssld_mm.models.backbones import PaddleMobileNetV3

PADDLE_KEYS = osp.join(REPO, 'tests', 'test_converters', 'data',
                       'MobileNetV3_large_x1_0.json')


def _expand_outputs(model, blocks, x):
    """Outputs of ``blocks[i].expand_conv`` in a classification forward."""
    seen = {}
    handles = [
        model.blocks[i].expand_conv.register_forward_hook(
            lambda m, inp, out, i=i: seen.__setitem__(i, out)) for i in blocks
    ]
    model(x)
    for h in handles:
        h.remove()
    return [seen[i] for i in blocks]


def test_large_taps_are_the_expansion_convs_of_the_stride2_blocks():
    torch.manual_seed(0)
    det = PaddleMobileNetV3('large', feature_maps=[2, 3, 4]).eval()
    assert det.feature_channels == [72, 240, 672]
    x = torch.randn(2, 3, 64, 96)
    outs = det(x)
    assert [tuple(o.shape) for o in outs] == [(2, 72, 16, 24), (2, 240, 8, 12),
                                              (2, 672, 4, 6)]
    # Same weights, classification mode: the taps are blocks 3, 6, 12's
    # expand_conv outputs (after BN and activation), bit for bit.
    cls = PaddleMobileNetV3('large').eval()
    cls.load_state_dict(det.state_dict())
    for tap, ref in zip(outs, _expand_outputs(cls, [3, 6, 12], x)):
        assert torch.equal(tap, ref)
    # Level 5 is the last 1x1 conv (Paddle's conv_last, 960 channels).
    full = PaddleMobileNetV3('large', feature_maps=[2, 3, 4, 5]).eval()
    full.load_state_dict(det.state_dict())
    outs5 = full(x)
    assert outs5[-1].shape == (2, 960, 2, 3)
    assert torch.equal(outs5[-1], cls(x)[0])


def test_small_levels_follow_paddle_block_stride_rule():
    # small: stride-2 blocks 0, 1, 3, 8 are levels 1..4 (stem not counted).
    model = PaddleMobileNetV3('small', scale=0.5, feature_maps=[1, 2, 3, 4, 5])
    assert model.tap_layers == (1, 2, 4, 9, 12)
    outs = model.eval()(torch.randn(1, 3, 64, 64))
    assert [o.shape[-1] for o in outs] == [32, 16, 8, 4, 2]
    assert [o.shape[1] for o in outs] == model.feature_channels == [8, 40, 48, 144, 288]


def test_layers_after_the_last_tap_are_kept_frozen_and_not_run():
    model = PaddleMobileNetV3('large', feature_maps=[2, 3, 4])
    model.train()
    outs = model(torch.randn(2, 3, 64, 64))
    sum(o.sum() for o in outs).backward()
    grads = {n: p.grad for n, p in model.named_parameters()}
    unused = [
        n for n in grads
        if n.startswith(('blocks.12.bottleneck_conv', 'blocks.12.mid_se',
                         'blocks.12.linear', 'blocks.13.', 'blocks.14.',
                         'last_second_conv.'))
    ]
    assert len(unused) == (3 + 4 + 3) + 2 * 13 + 3  # conv: weight, BN w/b
    for name, param in model.named_parameters():
        if name in unused:
            assert not param.requires_grad and grads[name] is None, name
        else:
            assert param.requires_grad and grads[name] is not None, name
    # Still present: a classifier checkpoint's keys all exist.
    assert 'last_second_conv.conv.weight' in model.state_dict()
    assert not model.blocks[13].training


def test_frozen_bn_keeps_statistics_and_gets_no_gradient():
    model = PaddleMobileNetV3(
        'large',
        feature_maps=[2, 3, 4],
        norm_eval=True,
        norm_cfg=dict(type='BN', eps=1e-5, requires_grad=False)).train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    outs = model(torch.randn(2, 3, 64, 64) * 3)
    sum(o.sum() for o in outs).backward()
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), key
    bn_params = [p for n, p in model.named_parameters() if '.bn.' in n]
    assert bn_params and not any(p.requires_grad for p in bn_params)


@pytest.mark.parametrize('kwargs, match', [
    (dict(feature_maps=[2, 3, 4], out_indices=(3, )), 'not both'),
    (dict(feature_maps=[3, 2]), 'strictly increasing'),
    (dict(feature_maps=[2, 6]), 'in 1..5'),
    (dict(feature_maps=[]), 'non-empty'),
    (dict(feature_maps=['2']), 'feature levels'),
])
def test_feature_maps_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        PaddleMobileNetV3('large', **kwargs)


def _random_paddle_state(seed=0):
    with open(PADDLE_KEYS) as f:
        shapes = json.load(f)
    rng = np.random.default_rng(seed)
    return {
        k: (rng.uniform(0.5, 2.0, s) if k.endswith('_variance') else rng.normal(
            0.0, 0.1, s)).astype(np.float32)
        for k, s in shapes.items()
    }


def _detector_backbone(checkpoint):
    import ssld_mm.models  # noqa: F401
    from ssld_mm.registry import MODELS
    cfg = dict(
        type='PaddleMobileNetV3',
        arch='large',
        feature_maps=[2, 3, 4],
        norm_cfg=dict(type='BN', eps=1e-5, requires_grad=False),
        norm_eval=True,
        init_cfg=dict(type='Pretrained', checkpoint=checkpoint))
    with DefaultScope.overwrite_default_scope('ssld_mm'):
        model = MODELS.build(cfg)
    model.init_weights()
    return model


def _assert_backbone_equals(model, state):
    expected = {
        k[len('backbone.'):]: v
        for k, v in state.items() if k.startswith('backbone.')
    }
    got = model.state_dict()
    assert set(got) == set(expected)  # no missing, no unexpected key
    for key, value in expected.items():
        assert torch.equal(got[key], value), key


def test_converted_paddle_weights_load_value_exact(tmp_path):
    from ssld_mm.converters import convert_paddle_state
    state, _ = convert_paddle_state(_random_paddle_state(),
                                    'MobileNetV3_large_x1_0_ssld')
    # The classifier-only part (last_conv, fc) lives in the head.
    assert any(k.startswith('head.') for k in state)
    path = str(tmp_path / 'mbv3_converted.pth')
    torch.save({'state_dict': state}, path)
    _assert_backbone_equals(_detector_backbone(path), state)


def test_distilled_student_loads_value_exact(tmp_path):
    import ssld_mm.models  # noqa: F401
    import ssld_mm.models.heads  # noqa: F401
    from ssld_mm.converters.extract_student import extract_student
    from ssld_mm.registry import MODELS
    torch.manual_seed(1)
    with DefaultScope.overwrite_default_scope('ssld_mm'):
        student = MODELS.build(
            dict(
                type='mmpretrain.ImageClassifier',
                backbone=dict(type='PaddleMobileNetV3', arch='large'),
                neck=dict(type='mmpretrain.GlobalAveragePooling'),
                head=dict(
                    type='PaddleMobileNetV3Head', num_classes=10, in_channels=960)))
    student.init_weights()
    with torch.no_grad():  # non-trivial BN statistics
        for name, buf in student.named_buffers():
            if name.endswith('running_var'):
                buf.uniform_(0.5, 2.0)
            elif name.endswith('running_mean'):
                buf.normal_()
    src = str(tmp_path / 'distiller.pth')
    torch.save(
        {
            'state_dict': {
                f'student.{k}': v
                for k, v in student.state_dict().items()
            },
            'meta': {}
        }, src)
    dst = str(tmp_path / 'student.pth')
    state = extract_student(src, dst)
    _assert_backbone_equals(_detector_backbone(dst), state)


def test_distiller_checkpoint_loads_directly_and_bad_files_stop(tmp_path):
    from ssld_mm.converters.backbone_checkpoint import backbone_state
    torch.manual_seed(2)
    student = PaddleMobileNetV3('large')
    teacher = torch.nn.Linear(2, 2)
    state = {f'student.backbone.{k}': v for k, v in student.state_dict().items()}
    state.update({f'teacher.{k}': v for k, v in teacher.state_dict().items()})
    path = str(tmp_path / 'distiller.pth')
    torch.save({'state_dict': state}, path)
    _, ignored = backbone_state({'state_dict': state})
    assert ignored == ['teacher.bias', 'teacher.weight']
    model = _detector_backbone(path)
    for key, value in student.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key

    # a MobileNetV3 small checkpoint: keys and shapes named, nothing loaded
    small = str(tmp_path / 'small.pth')
    torch.save(
        {
            'state_dict': {
                f'backbone.{k}': v
                for k, v in PaddleMobileNetV3('small').state_dict().items()
            }
        }, small)
    with pytest.raises(ValueError) as err:
        _detector_backbone(small)
    msg = str(err.value)
    assert small in msg and 'missing keys (88)' in msg  # blocks 11-14
    assert 'blocks.11.expand_conv.conv.weight' in msg
    assert 'shape mismatches' in msg and 'stem.' not in msg  # stem fits
    with pytest.raises(FileNotFoundError):
        _detector_backbone(str(tmp_path / 'nothing.pth'))
    with pytest.raises(ValueError, match='only type and checkpoint'):
        PaddleMobileNetV3(
            init_cfg=dict(type='Pretrained', checkpoint=path, prefix='backbone.'))
