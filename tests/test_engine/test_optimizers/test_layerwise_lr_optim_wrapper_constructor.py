"""LayerwiseLROptimWrapperConstructor: exact lr / weight decay of named params."""
import copy
import os.path as osp

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope

import ssld_mm.engine.optimizers.layerwise_lr_optim_wrapper_constructor as mod
from ssld_mm.engine.optimizers import (LayerwiseLROptimWrapperConstructor,
                                       get_stage_patterns)
from ssld_mm.registry import MODELS
from ssld_mm.utils import register_all_modules

BASE_LR = 0.1
BASE_WD = 1e-4
# distinct multipliers, so a parameter in the wrong group is caught
MULTS = [0.1, 0.2, 0.3, 0.4, 0.5]


@pytest.fixture(autouse=True)
def _scope():
    register_all_modules(init_default_scope=True)
    yield


@pytest.fixture
def table(monkeypatch):
    """Capture the messages the constructor logs."""
    messages = []
    real = mod.print_log

    def capture(msg, *args, **kwargs):
        messages.append(str(msg))
        return real(msg, *args, **kwargs)

    monkeypatch.setattr(mod, 'print_log', capture)
    return messages


def classifier(backbone, in_channels, num_classes=5):
    return MODELS.build(
        dict(
            type='mmpretrain.ImageClassifier',
            backbone=backbone,
            neck=dict(type='mmpretrain.GlobalAveragePooling'),
            head=dict(
                type='mmpretrain.LinearClsHead',
                num_classes=num_classes,
                in_channels=in_channels)))


def build(model,
          paramwise_cfg,
          constructor='LayerwiseLROptimWrapperConstructor',
          **optimizer):
    opt = dict(type='SGD', lr=BASE_LR, weight_decay=BASE_WD)
    opt.update(optimizer)
    return build_optim_wrapper(
        model,
        dict(
            optimizer=opt,
            constructor=constructor,
            paramwise_cfg=copy.deepcopy(paramwise_cfg)))


def groups_by_name(model, optim_wrapper):
    """{param name: its param group} (each parameter in exactly one group)."""
    ids = {id(p): n for n, p in model.named_parameters()}
    found = {}
    for group in optim_wrapper.optimizer.param_groups:
        for p in group['params']:
            name = ids[id(p)]
            assert name not in found, f'{name} in two groups'
            found[name] = group
    return found


def resnet_v1d_expected_mult(name):
    if not name.startswith('backbone.'):
        return 1.0
    rel = name[len('backbone.'):]
    if rel.startswith('stem.'):
        return MULTS[0]
    for k in range(1, 5):
        if rel.startswith(f'layer{k}.'):
            return MULTS[k]
    raise AssertionError(name)


def test_resnet_v1d_every_parameter_gets_its_stage_lr(table):
    model = classifier(
        dict(type='mmpretrain.ResNetV1d', depth=18, stem_channels=8, base_channels=8),
        in_channels=64)
    ow = build(model,
               dict(lr_mult_list=MULTS, norm_decay_mult=0.0, bias_decay_mult=0.0))
    by_name = groups_by_name(model, ow)
    assert set(by_name) == {n for n, _ in model.named_parameters()}
    for name, group in by_name.items():
        assert group['lr'] == pytest.approx(BASE_LR *
                                            resnet_v1d_expected_mult(name)), name
    # named spot checks, hand-computed
    assert by_name['backbone.stem.0.conv.weight']['lr'] == pytest.approx(0.01)
    assert by_name['backbone.stem.2.bn.weight']['lr'] == pytest.approx(0.01)
    assert by_name['backbone.layer1.0.conv1.weight']['lr'] == pytest.approx(0.02)
    # the avg-pool shortcut conv of ResNet50_vd-style downsampling
    assert by_name['backbone.layer2.0.downsample.1.weight']['lr'] == \
        pytest.approx(0.03)
    assert by_name['backbone.layer3.1.conv2.weight']['lr'] == pytest.approx(0.04)
    assert by_name['backbone.layer4.1.bn2.bias']['lr'] == pytest.approx(0.05)
    assert by_name['head.fc.weight']['lr'] == pytest.approx(BASE_LR)
    # decay multipliers compose; the decay coefficient is not scaled by m_i
    assert by_name['backbone.layer4.1.conv2.weight']['weight_decay'] == BASE_WD
    assert by_name['backbone.layer4.1.bn2.weight']['weight_decay'] == 0.0
    assert by_name['head.fc.bias']['weight_decay'] == 0.0
    assert by_name['head.fc.weight']['weight_decay'] == BASE_WD

    log = '\n'.join(table)
    assert 'lr_mult_list[0]' in log and 'lr_mult_list[4]' in log
    row4 = next(line for line in log.splitlines() if line.startswith('lr_mult_list[4]'))
    n4 = sum(1 for n in by_name if n.startswith('backbone.layer4.'))
    e4 = sum(p.numel() for n, p in model.named_parameters()
             if n.startswith('backbone.layer4.'))
    cells = [c.strip() for c in row4.split('|')]
    assert cells[1:6] == ['0.5', 'layer4', str(n4), str(e4), '0.05']
    assert cells[6] == '0, 0.0001'
    other = next(line for line in log.splitlines()
                 if line.startswith('outside backbone'))
    assert [c.strip() for c in other.split('|')][3] == '2'  # head.fc w, b


def test_sgd_step_matches_paddle_lr_mult_with_l2():
    """One SGD step: w' = w - lr*m*(g + wd*w), Paddle's lr_mult with L2Decay."""
    torch.manual_seed(0)
    model = classifier(
        dict(type='mmpretrain.ResNetV1d', depth=18, stem_channels=8, base_channels=8),
        in_channels=64)
    ow = build(model, dict(lr_mult_list=MULTS))
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    for p in model.parameters():
        p.grad = torch.full_like(p, 0.5)
    ow.step()
    for name, p in model.named_parameters():
        lr = BASE_LR * resnet_v1d_expected_mult(name)
        expected = before[name] - lr * (0.5 + BASE_WD * before[name])
        torch.testing.assert_close(p.detach(), expected, msg=name)


def test_custom_keys_and_bias_lr_mult_compose_with_stage_mult():
    model = classifier(
        dict(type='mmpretrain.ResNetV1d', depth=18, stem_channels=8, base_channels=8),
        in_channels=64)
    ow = build(
        model,
        dict(
            lr_mult_list=MULTS,
            custom_keys={'backbone.layer3.0.': dict(lr_mult=2.0, decay_mult=3.0)}))
    by_name = groups_by_name(model, ow)
    assert by_name['backbone.layer3.0.conv1.weight']['lr'] == \
        pytest.approx(BASE_LR * 2.0 * 0.4)
    assert by_name['backbone.layer3.0.conv1.weight']['weight_decay'] == \
        pytest.approx(3 * BASE_WD)
    assert by_name['backbone.layer3.1.conv1.weight']['lr'] == \
        pytest.approx(BASE_LR * 0.4)


MBV3_LARGE = {  # PaddleDetection: block i -> m[min(i // 3, 4)], layer_{i+1}
    'layer0': 0, 'layer1': 0, 'layer2': 0, 'layer3': 0, 'layer4': 1,
    'layer5': 1, 'layer6': 1, 'layer7': 2, 'layer8': 2, 'layer9': 2,
    'layer10': 3, 'layer11': 3, 'layer12': 3, 'layer13': 4, 'layer14': 4,
    'layer15': 4, 'layer16': 4,
}


def test_mobilenet_v3_large_groups_in_threes():
    model = MODELS.build(
        dict(
            type='mmpretrain.ImageClassifier',
            backbone=dict(type='mmpretrain.MobileNetV3', arch='large'),
            neck=dict(type='mmpretrain.GlobalAveragePooling'),
            head=dict(
                type='mmpretrain.StackedLinearClsHead',
                num_classes=10,
                in_channels=960,
                mid_channels=[1280])))
    ow = build(model, dict(lr_mult_list=MULTS))
    by_name = groups_by_name(model, ow)
    for name, group in by_name.items():
        if name.startswith('backbone.'):
            layer = name.split('.')[1]
            expected = BASE_LR * MULTS[MBV3_LARGE[layer]]
        else:
            expected = BASE_LR
        assert group['lr'] == pytest.approx(expected), name
    # the substring trap: layer1 (m0) is not layer10 (m3)
    assert by_name['backbone.layer1.depthwise_conv.conv.weight']['lr'] == \
        pytest.approx(0.01)
    assert by_name['backbone.layer10.depthwise_conv.conv.weight']['lr'] == \
        pytest.approx(0.04)
    assert by_name['backbone.layer0.conv.weight']['lr'] == pytest.approx(0.01)
    assert by_name['backbone.layer16.conv.weight']['lr'] == pytest.approx(0.05)
    assert by_name['head.layers.0.fc.weight']['lr'] == pytest.approx(BASE_LR)
    assert by_name['head.layers.1.fc.weight']['lr'] == pytest.approx(BASE_LR)


def test_mobilenet_v3_small_and_v2_groups():
    from mmpretrain.models import MobileNetV2, MobileNetV3
    small = get_stage_patterns(MobileNetV3(arch='small'))
    assert small == [['layer0', 'layer1', 'layer2', 'layer3'],
                     ['layer4', 'layer5', 'layer6'], ['layer7', 'layer8', 'layer9'],
                     ['layer10', 'layer11', 'layer12'], []]
    assert get_stage_patterns(MobileNetV2()) == [['conv1', 'layer1'], ['layer2'],
                                                 ['layer3'], ['layer4', 'layer5'],
                                                 ['layer6', 'layer7', 'conv2']]


def test_backbones_declare_their_groups():
    """A backbone's own stage_groups() wins; a Paddle-like layout without it
    is no longer guessed from child names."""

    class Declared(nn.Module):

        def __init__(self):
            super().__init__()
            self.stem = nn.Conv2d(3, 4, 1)
            self.body = nn.ModuleList(nn.Conv2d(4, 4, 1) for _ in range(4))

        def stage_groups(self):
            return [['stem'], ['body.0'], ['body.1'], ['body.2'], ['body.3']]

    class PaddleMobileNetV3(nn.Module):  # the old name-and-layout guess

        def __init__(self):
            super().__init__()
            self.stem = nn.Conv2d(3, 4, 1)
            self.blocks = nn.ModuleList(nn.Conv2d(4, 4, 1) for _ in range(15))

    assert get_stage_patterns(Declared()) == Declared().stage_groups()
    assert get_stage_patterns(PaddleMobileNetV3()) is None
    from ssld_mm.models.backbones import MobileNetV1, PaddleMobileNetV2
    from ssld_mm.models.backbones import PaddleMobileNetV3 as RealV3
    groups = get_stage_patterns(RealV3(scale=0.35))
    assert groups[0] == ['stem', 'blocks.0', 'blocks.1', 'blocks.2']
    assert groups[4] == ['blocks.12', 'blocks.13', 'blocks.14', 'last_second_conv']
    assert get_stage_patterns(
        MobileNetV1(scale=0.25)) == [['stem', 'blocks.0'], ['blocks.1', 'blocks.2'],
                                     ['blocks.3', 'blocks.4'],
                                     [f'blocks.{i}' for i in range(5, 11)],
                                     ['blocks.11', 'blocks.12']]
    assert get_stage_patterns(
        PaddleMobileNetV2(scale=0.25)) == [['stem', 'stages.0'], ['stages.1'],
                                           ['stages.2'], ['stages.3', 'stages.4'],
                                           ['stages.5', 'stages.6', 'final_conv']]


@pytest.mark.parametrize('backbone, num_classes_in, expected', [
    (dict(type='PaddleMobileNetV3', arch='large'), 1280, {
        'backbone.stem.conv.weight': 0,
        'backbone.blocks.2.linear_conv.conv.weight': 0,
        'backbone.blocks.3.expand_conv.conv.weight': 1,
        'backbone.blocks.10.expand_conv.conv.weight': 3,
        'backbone.blocks.14.linear_conv.conv.weight': 4,
        'backbone.last_second_conv.conv.weight': 4
    }),
    (dict(type='PaddleMobileNetV3', arch='small'), 1280, {
        'backbone.blocks.10.expand_conv.conv.weight': 3,
        'backbone.last_second_conv.conv.weight': 3
    }),
    (dict(type='MobileNetV1'), 1024, {
        'backbone.stem.conv.weight': 0,
        'backbone.blocks.0.pointwise_conv.conv.weight': 0,
        'backbone.blocks.2.pointwise_conv.conv.weight': 1,
        'backbone.blocks.10.pointwise_conv.conv.weight': 3,
        'backbone.blocks.12.pointwise_conv.conv.weight': 4
    }),
    (dict(type='PaddleMobileNetV2'), 1280, {
        'backbone.stem.conv.weight': 0,
        'backbone.stages.1.0.expand_conv.conv.weight': 1,
        'backbone.stages.4.2.linear_conv.conv.weight': 3,
        'backbone.final_conv.conv.weight': 4
    }),
])
def test_ssld_mm_backbones_stage_lrs(backbone, num_classes_in, expected):
    # These backbones ship with ssld_mm: a missing registration is a failure.
    assert MODELS.get(backbone['type']) is not None, (
        f"{backbone['type']} is not registered in ssld_mm's MODELS registry")
    model = MODELS.build(
        dict(
            type='mmpretrain.ImageClassifier',
            backbone=backbone,
            neck=dict(type='mmpretrain.GlobalAveragePooling'),
            head=dict(
                type='mmpretrain.LinearClsHead',
                num_classes=3,
                in_channels=num_classes_in)))
    by_name = groups_by_name(model, build(model, dict(lr_mult_list=MULTS)))
    for name, index in expected.items():
        assert by_name[name]['lr'] == pytest.approx(BASE_LR * MULTS[index]), name


def test_mmdet_faster_rcnn_resnet_backbone():
    import mmdet
    from mmdet.registry import MODELS as DET_MODELS
    cfg = Config.fromfile(
        osp.join(
            osp.dirname(mmdet.__file__), '.mim', 'configs', '_base_', 'models',
            'faster-rcnn_r50_fpn.py'))
    cfg.model.backbone.init_cfg = None
    DefaultScope.get_instance('test-mmdet-lwlr', scope_name='mmdet')
    model = DET_MODELS.build(cfg.model)
    # In a detector config (scope mmdet) the constructor is named with its scope.
    ow = build(
        model,
        dict(lr_mult_list=MULTS, norm_decay_mult=0.0),
        constructor='ssld_mm.LayerwiseLROptimWrapperConstructor',
        momentum=0.9)
    by_name = groups_by_name(model, ow)
    # frozen_stages=1: stem and layer1 are not optimized at all
    assert not any(
        n.startswith(('backbone.conv1', 'backbone.bn1', 'backbone.layer1.'))
        for n in by_name)
    assert by_name['backbone.layer2.0.conv1.weight']['lr'] == pytest.approx(0.03)
    assert by_name['backbone.layer2.0.downsample.0.weight']['lr'] == \
        pytest.approx(0.03)
    assert by_name['backbone.layer3.5.conv3.weight']['lr'] == pytest.approx(0.04)
    assert by_name['backbone.layer4.2.bn3.weight']['lr'] == pytest.approx(0.05)
    assert by_name['backbone.layer4.2.bn3.weight']['weight_decay'] == 0.0
    for name in ('neck.lateral_convs.0.conv.weight', 'neck.fpn_convs.3.conv.bias',
                 'rpn_head.rpn_conv.weight', 'rpn_head.rpn_reg.bias',
                 'roi_head.bbox_head.shared_fcs.0.weight',
                 'roi_head.bbox_head.fc_cls.weight'):
        assert by_name[name]['lr'] == pytest.approx(BASE_LR), name
    for name, group in by_name.items():
        if name.startswith('backbone.'):
            k = int(name.split('.')[1][len('layer'):])
            assert group['lr'] == pytest.approx(BASE_LR * MULTS[k]), name


def test_backbone_found_under_student_prefix_and_frozen_teacher_skipped(table):

    class Distiller(nn.Module):

        def __init__(self):
            super().__init__()
            net = dict(
                type='mmpretrain.ResNetV1d', depth=18, stem_channels=8, base_channels=8)
            self.student = classifier(net, in_channels=64)
            self.teacher = classifier(copy.deepcopy(net), in_channels=64)
            self.teacher.requires_grad_(False)

    model = Distiller()
    ow = build(model, dict(lr_mult_list=MULTS))
    by_name = groups_by_name(model, ow)
    assert not any(n.startswith('teacher.') for n in by_name)
    assert by_name['student.backbone.stem.0.conv.weight']['lr'] == \
        pytest.approx(0.01)
    assert by_name['student.backbone.layer4.0.conv1.weight']['lr'] == \
        pytest.approx(0.05)
    assert by_name['student.head.fc.weight']['lr'] == pytest.approx(BASE_LR)
    n_teacher = len(list(model.teacher.parameters()))
    assert any(f'({n_teacher} frozen parameter tensors' in m for m in table)


class ToyBackbone(nn.Module):

    def __init__(self):
        super().__init__()
        self.embed = nn.Linear(2, 2)
        self.blocks = nn.ModuleList(nn.Linear(2, 2) for _ in range(12))


class ToyModel(nn.Module):

    def __init__(self):
        super().__init__()
        self.backbone = ToyBackbone()
        self.head = nn.Linear(2, 2)


def test_stage_patterns_for_any_backbone():
    model = ToyModel()
    ow = build(
        model,
        dict(
            lr_mult_list=[0.0, 0.5, 2.0],
            stage_patterns=[
                'embed', ['blocks.0', 'blocks.1'],
                [f'blocks.{i}' for i in range(2, 12)]
            ]))
    by_name = groups_by_name(model, ow)
    assert by_name['backbone.embed.weight']['lr'] == 0.0
    assert by_name['backbone.blocks.1.bias']['lr'] == pytest.approx(0.05)
    # 'blocks.1' does not catch blocks.10 / blocks.11
    assert by_name['backbone.blocks.10.weight']['lr'] == pytest.approx(0.2)
    assert by_name['backbone.blocks.11.weight']['lr'] == pytest.approx(0.2)
    assert by_name['head.weight']['lr'] == pytest.approx(BASE_LR)


@pytest.mark.parametrize('paramwise_cfg, error, match', [
    (dict(lr_mult_list=[0.1, 0.1, 0.2, 0.2]), ValueError,
     r'must have 5 \(stem \+ 4 stages\) entries, got 4'),
    (dict(bias_lr_mult=2.0), ValueError, 'needs paramwise_cfg.lr_mult_list'),
    (dict(lr_mult_list='0.1'), TypeError, 'list of numbers'),
    (dict(lr_mult_list=[0.1, -1, 0.2, 0.2, 0.3]), ValueError, '>= 0'),
    (dict(lr_mult_list=[0.1, 0.2], stage_patterns=['a', 'b', 'c']), ValueError,
     'lr_mult_list has 2 entries but stage_patterns has 3 groups'),
    (dict(lr_mult_list=[0.1],
          stage_patterns=[3]), TypeError, r'stage_patterns\[0\] must be a module path'),
])
def test_invalid_config_is_a_clear_error(paramwise_cfg, error, match):
    with pytest.raises(error, match=match):
        LayerwiseLROptimWrapperConstructor(
            dict(optimizer=dict(type='SGD', lr=0.1)), paramwise_cfg)


def test_unsplittable_backbone_and_strays_are_clear_errors():
    with pytest.raises(
            ValueError,
            match=r"cannot split backbone 'backbone' "
            r'of type ToyBackbone.*stage_patterns'):
        build(ToyModel(), dict(lr_mult_list=MULTS))
    with pytest.raises(
            ValueError,
            match=r"2 trainable parameters of backbone "
            r"'backbone'.*'blocks.11.weight', 'blocks.11.bias'"):
        build(
            ToyModel(),
            dict(
                lr_mult_list=[1.0, 1.0],
                stage_patterns=['embed', [f'blocks.{i}' for i in range(11)]]))
    with pytest.raises(ValueError, match='no submodule named "backbone"'):
        build(nn.Sequential(nn.Linear(2, 2)), dict(lr_mult_list=MULTS))
