"""PaddleClas -> MM conversion without Paddle: keys, shapes, errors, configs, CLI.

Numerical parity with Paddle itself is in test_paddle_parity.py.
"""
import os
import os.path as osp
import pickle

import numpy as np
import pytest
import torch
from conftest import REPO, run_tool
from mmengine.config import Config
from mmengine.registry import DefaultScope
from paddle_test_utils import FIXTURE_ARCHS, random_state, save_pdparams, to_dygraph

from ssld_mm.converters import (PADDLE_ARCHS, PaddleConversionError,
                                convert_paddle_state, convert_pdparams, get_arch,
                                load_pdparams, model_cfg)

TOOL = osp.join(REPO, 'tools', 'model_converters', 'paddle_to_mm.py')


def build(cfg):
    import ssld_mm.models  # noqa: F401
    import ssld_mm.models.heads  # noqa: F401
    from ssld_mm.registry import MODELS
    with DefaultScope.overwrite_default_scope('ssld_mm'):
        return MODELS.build(cfg)


def leaf_config(arch):
    return osp.join(REPO, 'configs', 'paddleclas', get_arch(arch).config_name + '.py')


# ------------------------------------------------------------------ .pdparams
def test_load_pdparams_reads_arrays_and_drops_name_table(tmp_path):
    state = {
        'fc.weight': np.arange(6, dtype=np.float32).reshape(3, 2),
        'fc.bias': np.ones(2, np.float32)
    }
    path = save_pdparams(state, str(tmp_path / 'm.pdparams'))
    loaded = load_pdparams(path)
    assert list(loaded) == ['fc.weight', 'fc.bias']
    np.testing.assert_array_equal(loaded['fc.weight'], state['fc.weight'])


def test_load_pdparams_tuple_values_and_prefix(tmp_path):
    obj = {
        'Student.fc.weight': ('linear_0.w_0', np.zeros((2, 3), np.float32)),
        'Teacher.fc.weight': ('linear_1.w_0', np.ones((2, 3), np.float32))
    }
    path = tmp_path / 'distill.pdparams'
    path.write_bytes(pickle.dumps(obj, protocol=2))
    loaded = load_pdparams(str(path), prefix='Teacher.')
    assert list(loaded) == ['fc.weight'] and loaded['fc.weight'].sum() == 6
    with pytest.raises(
            ValueError, match=r"no key starts with 'Pupil\.'.*"
            r"'Student', 'Teacher'"):
        load_pdparams(str(path), prefix='Pupil.')


class _Evil:

    def __reduce__(self):
        return (os.system, ('echo pwned > /dev/null', ))


def test_load_pdparams_refuses_code_and_non_dicts(tmp_path):
    evil = tmp_path / 'evil.pdparams'
    evil.write_bytes(pickle.dumps({'x': _Evil()}))
    with pytest.raises(ValueError, match='refusing to load (posix|os).system'):
        load_pdparams(str(evil))
    listing = tmp_path / 'list.pdparams'
    listing.write_bytes(pickle.dumps([np.zeros(2)]))
    with pytest.raises(ValueError, match='holds a list, not a state dict'):
        load_pdparams(str(listing))
    with pytest.raises(FileNotFoundError, match='does not exist'):
        load_pdparams(str(tmp_path / 'missing.pdparams'))


# ---------------------------------------------------------------- arch names
def test_arch_lookup_accepts_published_names_and_suggests():
    assert get_arch('ResNet50_vd_ssld').name == 'ResNet50_vd'
    assert get_arch('Fix_ResNet50_vd_ssld_v2').name == 'ResNet50_vd'
    assert get_arch('MobileNetV3_large_x1_0_ssld').params == dict(
        size='large', scale=1.0)
    with pytest.raises(ValueError, match='Did you mean ResNet50_vd'):
        get_arch('ResNet50vd')
    with pytest.raises(ValueError, match='Supported: ResNet18_vd'):
        get_arch('VGG16')


def test_required_archs_are_supported():
    required = {
        'ResNet18_vd', 'ResNet34_vd', 'ResNet50_vd', 'ResNet101_vd', 'ResNet152_vd',
        'ResNet200_vd', 'MobileNetV3_large_x1_0', 'MobileNetV3_small_x1_0',
        'MobileNetV1', 'MobileNetV2', 'Res2Net50_vd_26w_4s', 'Res2Net200_vd_26w_4s'
    }
    widths = {
        f'MobileNetV3_{s}_x{w}'
        for s in ('large', 'small')
        for w in ('0_35', '0_5', '0_75', '1_0', '1_25')
    }
    assert required | widths <= set(PADDLE_ARCHS)


# ------------------------------------------------------------------- configs
@pytest.mark.parametrize('arch', list(PADDLE_ARCHS))
def test_configs_hold_the_converter_model_and_paddle_preprocessing(arch):
    spec = get_arch(arch)
    base = Config.fromfile(
        osp.join(REPO, 'configs', '_base_', 'models', 'paddleclas',
                 spec.config_name + '.py'))
    assert set(base.keys()) == {'model'}
    assert base.model.to_dict() == model_cfg(spec)
    leaf = Config.fromfile(leaf_config(arch))
    assert leaf.model.to_dict() == model_cfg(spec)
    assert leaf.default_scope == 'ssld_mm'
    assert leaf.data_preprocessor.mean == [123.675, 116.28, 103.53]
    assert leaf.data_preprocessor.std == [58.395, 57.12, 57.375]
    assert leaf.data_preprocessor.to_rgb is True
    types = [(t['type'], t.get('scale', t.get('crop_size')))
             for t in leaf.test_dataloader.dataset.pipeline]
    assert types == [('mmpretrain.LoadImageFromFile', None),
                     ('mmpretrain.ResizeEdge', 256), ('mmpretrain.CenterCrop', 224),
                     ('mmpretrain.PackInputs', None)]
    assert leaf.test_cfg == {} and leaf.test_evaluator.topk == (1, 5)
    assert build(leaf.model).head.num_classes == 1000


# ---------------------------------------------------------------- conversion
@pytest.mark.parametrize('arch', FIXTURE_ARCHS)
def test_converted_weights_load_strictly_into_the_config(arch):
    state = random_state(arch)
    converted, info = convert_paddle_state(state, arch)
    assert info['naming'] == ('dygraph' if arch.startswith(
        ('MobileNetV2', 'Res2Net')) else 'legendary')
    model = build(Config.fromfile(leaf_config(arch)).model)
    model.load_state_dict(converted, strict=True)
    fc = state['fc.weight'] if 'fc.weight' in state else state['out.weight']
    # Paddle Linear weights are [in, out]: transposed.
    torch.testing.assert_close(model.head.fc.weight, torch.from_numpy(fc.T))
    bn = [k for k in converted if k.endswith('running_var')]
    assert bn and all(float(converted[k].min()) >= 0.5 for k in bn)
    tracked = [k for k in converted if k.endswith('num_batches_tracked')]
    assert tracked and all(int(converted[k]) == 0 for k in tracked)


def test_known_tensors_land_in_the_right_places():
    state = random_state('MobileNetV3_large_x1_0')
    converted, _ = convert_paddle_state(state, 'MobileNetV3_large_x1_0')
    pairs = {
        'conv.conv.weight': 'backbone.stem.conv.weight',
        'conv.bn._mean': 'backbone.stem.bn.running_mean',
        'blocks.0.expand_conv.conv.weight': 'backbone.blocks.0.expand_conv.conv.weight',
        'blocks.3.mid_se.conv1.bias': 'backbone.blocks.3.mid_se.conv1.bias',
        'last_second_conv.bn._variance': 'backbone.last_second_conv.bn.running_var',
        'fc.bias': 'head.fc.bias',
    }
    for paddle_key, mm_key in pairs.items():
        np.testing.assert_array_equal(converted[mm_key].numpy(), state[paddle_key])
    # last_conv: 1x1 conv [1280, 960, 1, 1] -> bias-free Linear [1280, 960]
    assert state['last_conv.weight'].shape == (1280, 960, 1, 1)
    np.testing.assert_array_equal(converted['head.last_conv.weight'].numpy(),
                                  state['last_conv.weight'][:, :, 0, 0])
    # SE squeeze is C // 4 = 72 // 4 (make_divisible would give 24)
    assert converted['backbone.blocks.3.mid_se.conv1.weight'].shape[0] == 18

    state = random_state('ResNet50_vd')
    converted, _ = convert_paddle_state(state, 'ResNet50_vd')
    pairs = {
        'stem.2.conv.weight': 'backbone.stem.2.conv.weight',
        'blocks.0.short.conv.weight': 'backbone.layer1.0.downsample.0.weight',
        'blocks.3.short.bn.weight': 'backbone.layer2.0.downsample.2.weight',
        'blocks.6.conv2.bn.bias': 'backbone.layer2.3.bn3.bias',
        'blocks.7.conv1.conv.weight': 'backbone.layer3.0.conv2.weight',
        'blocks.15.conv0.bn._variance': 'backbone.layer4.2.bn1.running_var',
    }
    for paddle_key, mm_key in pairs.items():
        np.testing.assert_array_equal(converted[mm_key].numpy(), state[paddle_key])


@pytest.mark.parametrize('arch', [
    'ResNet18_vd', 'ResNet50_vd', 'MobileNetV3_small_x0_35', 'MobileNetV3_large_x1_0',
    'MobileNetV1_x0_25'
])
def test_paddleclas_2_0_names_give_the_same_checkpoint(arch):
    state = random_state(arch)
    legendary, info = convert_paddle_state(state, arch)
    old = to_dygraph(arch, state)
    assert not set(old) & set(state) - {'last_conv.weight'} or \
        arch.startswith('MobileNetV3')
    dygraph, old_info = convert_paddle_state(old, arch)
    assert (info['naming'], old_info['naming']) == ('legendary', 'dygraph')
    assert list(dygraph) == list(legendary)
    for key in legendary:
        assert torch.equal(dygraph[key], legendary[key]), key


# -------------------------------------------------------------------- errors
def test_wrong_shape_names_key_expected_and_found_and_writes_nothing(tmp_path):
    state = random_state('ResNet18_vd')
    state['blocks.2.conv1.conv.weight'] = np.zeros((128, 128, 1, 1), np.float32)
    src = save_pdparams(state, str(tmp_path / 'r18.pdparams'))
    dst = tmp_path / 'out' / 'r18.pth'
    with pytest.raises(PaddleConversionError) as e:
        convert_pdparams(src, str(dst), 'ResNet18_vd')
    msg = str(e.value)
    assert ("'blocks.2.conv1.conv.weight' (-> 'backbone.layer2.0.conv2.weight'):"
            ' expected shape (128, 128, 3, 3), found (128, 128, 1, 1)') in msg
    assert '1 tensor(s) with the wrong shape' in msg
    assert 'not in the file' not in msg  # reported once, as a shape error
    assert not dst.exists() and not list(tmp_path.glob('out/*'))


def test_unexpected_and_missing_keys_are_listed():
    state = random_state('MobileNetV1_x0_25')
    state['blocks.13.depthwise_conv.conv.weight'] = np.zeros((8, 1, 3, 3), np.float32)
    del state['blocks.4.pointwise_conv.bn._mean']
    with pytest.raises(PaddleConversionError) as e:
        convert_paddle_state(state, 'MobileNetV1_x0_25')
    msg = str(e.value)
    assert "has no place for:\n  'blocks.13.depthwise_conv.conv.weight' " \
        '(8, 1, 3, 3)' in msg
    assert "not in the file:\n  'backbone.blocks.4.pointwise_conv.bn." \
        "running_mean' (64,)" in msg


def test_wrong_arch_suggests_the_one_that_fits():
    with pytest.raises(
            PaddleConversionError, match=r'fit ResNet50_vd: is --arch right\?'):
        convert_paddle_state(random_state('ResNet50_vd'), 'ResNet101_vd')
    with pytest.raises(
            PaddleConversionError,
            match=r"none of the keys 'conv1_1._conv.weight' is "
            'present'):
        convert_paddle_state(random_state('ResNet18_vd'), 'Res2Net50_vd_26w_4s')


def test_distillation_checkpoint_needs_and_accepts_a_prefix(tmp_path):
    state = random_state('MobileNetV3_small_x0_35')
    distill = {f'Student.{k}': v for k, v in state.items()}
    distill.update({f'Teacher.{k}': v for k, v in state.items()})
    src = save_pdparams(distill, str(tmp_path / 'distill.pdparams'))
    with pytest.raises(PaddleConversionError, match='--src-prefix Student.'):
        convert_pdparams(src, str(tmp_path / 'a.pth'), 'MobileNetV3_small_x0_35')
    ckpt = convert_pdparams(
        src, str(tmp_path / 'a.pth'), 'MobileNetV3_small_x0_35', src_prefix='Student.')
    assert ckpt['meta']['src_prefix'] == 'Student.'
    assert osp.isfile(tmp_path / 'a.pth')


def test_num_classes_follows_the_fc_or_must_match():
    state = random_state('MobileNetV1_x0_25')
    state['fc.weight'] = state['fc.weight'][:, :10].copy()
    state['fc.bias'] = state['fc.bias'][:10].copy()
    converted, info = convert_paddle_state(state, 'MobileNetV1_x0_25')
    assert info['num_classes'] == 10
    assert converted['head.fc.weight'].shape == (10, 256)
    with pytest.raises(
            PaddleConversionError,
            match=r"'fc.weight' \(-> 'head.fc.weight'\): expected "
            r'shape \(256, 1000\), found \(256, 10\)'):
        convert_paddle_state(state, 'MobileNetV1_x0_25', num_classes=1000)


def test_format_checks():
    state = random_state('MobileNetV1_x0_25')
    with pytest.raises(ValueError, match='format must be one of'):
        convert_paddle_state(state, 'MobileNetV1_x0_25', fmt='onnx')
    with pytest.raises(ValueError, match='MobileNetV1_x0_25 is not a ResNet_vd'):
        convert_paddle_state(state, 'MobileNetV1_x0_25', fmt='mmdet')
    with pytest.raises(ValueError, match='layer1.0 a 1x1 projection shortcut'):
        convert_paddle_state(random_state('ResNet18_vd'), 'ResNet18_vd', fmt='mmdet')


# --------------------------------------------------------------- MMDetection
def test_mmdet_format_loads_into_mmdet_resnetv1d_and_matches_mmpretrain():
    from mmdet.models.backbones import ResNetV1d as DetResNetV1d
    from mmpretrain.models import ResNetV1d
    state = random_state('ResNet50_vd', seed=3)
    cls_state, _ = convert_paddle_state(state, 'ResNet50_vd')
    det_state, info = convert_paddle_state(state, 'ResNet50_vd', fmt='mmdet')
    assert info['dropped'] == ['head.fc.weight', 'head.fc.bias']
    assert 'stem.3.weight' in det_state and 'layer1.0.downsample.1.weight' \
        in det_state
    det = DetResNetV1d(depth=50, out_indices=(0, 1, 2, 3))
    det.load_state_dict(det_state, strict=True)
    cls = ResNetV1d(depth=50, out_indices=(0, 1, 2, 3))
    cls.load_state_dict(
        {
            k[len('backbone.'):]: v
            for k, v in cls_state.items() if k.startswith('backbone.')
        },
        strict=True)
    det.eval()
    cls.eval()
    x = torch.randn(1, 3, 72, 72, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        for a, b in zip(det(x), cls(x)):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


# ----------------------------------------------------------------------- CLI
def test_cli_writes_a_checkpoint_with_meta(tmp_path):
    src = save_pdparams(
        random_state('MobileNetV2_x0_25'),
        str(tmp_path / 'MobileNetV2_x0_25_pretrained.pdparams'))
    dst = tmp_path / 'ckpt' / 'mbv2.pth'
    out = run_tool([TOOL, src, str(dst), '--arch', 'MobileNetV2_x0_25']).stdout
    assert 'MobileNetV2_x0_25 (dygraph Paddle names)' in out
    assert 'configs/paddleclas/mobilenetv2_x0_25.py' in out
    ckpt = torch.load(dst, map_location='cpu', weights_only=False)
    assert ckpt['meta']['source'] == 'PaddleClas'
    assert ckpt['meta']['arch'] == 'MobileNetV2_x0_25'
    assert ckpt['meta']['src'] == src
    assert ckpt['meta']['config'] == 'configs/paddleclas/mobilenetv2_x0_25.py'
    assert 'backbone.stages.0.0.expand_conv.conv.weight' in ckpt['state_dict']


def test_cli_reports_errors_and_writes_nothing(tmp_path):
    src = save_pdparams(random_state('MobileNetV2_x0_25'), str(tmp_path / 'm.pdparams'))
    dst = tmp_path / 'm.pth'
    with pytest.raises(AssertionError) as e:
        run_tool([TOOL, src, str(dst), '--arch', 'MobileNetV2_x0_5'])
    msg = str(e.value)
    assert 'exited 1' in msg and 'They fit MobileNetV2_x0_25' in msg
    assert 'expected shape' in msg and 'nothing was written' in msg
    assert not dst.exists()
    with pytest.raises(AssertionError, match='unknown PaddleClas arch'):
        run_tool([TOOL, src, str(dst), '--arch', 'MobileNetV9'])


def test_tools_test_evaluates_a_converted_checkpoint(tmp_path, image_folder):
    src = save_pdparams(
        random_state('MobileNetV3_small_x0_35'), str(tmp_path / 'mbv3.pdparams'))
    ckpt = str(tmp_path / 'mbv3.pth')
    run_tool([TOOL, src, ckpt, '--arch', 'MobileNetV3_small_x0_35'])
    config = tmp_path / 'eval_on_folder.py'
    config.write_text(
        f"_base_ = [{leaf_config('MobileNetV3_small_x0_35')!r}]\n"
        "test_dataloader = dict(batch_size=6, num_workers=0, dataset=dict(\n"
        "    _delete_=True, type='mmpretrain.CustomDataset',\n"
        f"    data_root={image_folder!r},\n"
        "    pipeline={{_base_.test_pipeline}}))\n")
    out = run_tool([
        osp.join(REPO, 'tools', 'test.py'),
        str(config), ckpt, '--work-dir',
        str(tmp_path / 'work')
    ])
    log = out.stdout + out.stderr
    assert 'accuracy/top1' in log
    assert 'unexpected key' not in log and 'missing keys' not in log
