"""Scope resolution: our names plainly, upstream ones by scoped name."""
import warnings

import pytest
from mmengine.registry import MODELS as ROOT_MODELS
from mmengine.registry import TRANSFORMS as ROOT_TRANSFORMS
from mmengine.registry import DefaultScope

from ssld_mm.registry import (DATASETS, EVALUATOR, HOOKS, LOOPS, MODEL_WRAPPERS, MODELS,
                              OPTIM_WRAPPER_CONSTRUCTORS, VISUALIZERS, Registry)
from ssld_mm.utils import register_all_modules
from ssld_mm.utils.env import check_stack


def test_registries_are_children_of_mmengine_roots_with_mmpretrain_fallback():
    import mmpretrain.registry as upstream
    for reg in (MODELS, DATASETS, HOOKS, MODEL_WRAPPERS, OPTIM_WRAPPER_CONSTRUCTORS):
        assert isinstance(reg, Registry)
        assert reg.scope == 'ssld_mm'
        assert reg.parent is not None and reg.parent.scope == 'mmengine'
    assert ROOT_MODELS.children['ssld_mm'] is MODELS
    assert MODELS.fallback is upstream.MODELS
    assert EVALUATOR.fallback is upstream.EVALUATORS
    # locations only where our modules register
    assert MODELS._locations == ['ssld_mm.models']
    assert LOOPS._locations == [] and VISUALIZERS._locations == []


def test_plain_upstream_names_fall_back_to_mmpretrain():
    from mmpretrain.models import ClsDataPreprocessor, CrossEntropyLoss
    assert MODELS.get('ClsDataPreprocessor') is ClsDataPreprocessor
    assert MODELS.get('CrossEntropyLoss') is CrossEntropyLoss
    with pytest.raises(
            KeyError,
            match=r'NoSuchLoss is not in the ssld_mm::model '
            r'registry nor any other searched \(ssld_mm::model, '
            r'mmengine::model, mmpretrain::model\)'):
        MODELS.build(dict(type='NoSuchLoss'))


def test_ssld_mm_names_resolve_from_another_scope():
    register_all_modules(init_default_scope=False)
    from ssld_mm.datasets.transforms import DetAutoAugmentV1
    with DefaultScope.overwrite_default_scope('mmdet'):
        assert ROOT_TRANSFORMS.get('ssld_mm.DetAutoAugmentV1') is DetAutoAugmentV1


def test_scoped_and_plain_names_resolve_under_ssld_mm_scope():
    register_all_modules(init_default_scope=True)
    assert DefaultScope.get_current_instance().scope_name == 'ssld_mm'
    from mmpretrain.models import ImageClassifier, ResNetV1d
    assert MODELS.get('mmpretrain.ImageClassifier') is ImageClassifier
    assert MODELS.get('mmpretrain.ResNetV1d') is ResNetV1d
    from ssld_mm.models.wrappers import CPUAwareDistributedDataParallel
    assert MODEL_WRAPPERS.get('CPUAwareDistributedDataParallel') is \
        CPUAwareDistributedDataParallel
    model = MODELS.build(
        dict(
            type='mmpretrain.ImageClassifier',
            backbone=dict(
                type='mmpretrain.ResNet', depth=18, base_channels=8, stem_channels=8),
            neck=dict(type='mmpretrain.GlobalAveragePooling'),
            head=dict(type='mmpretrain.LinearClsHead', num_classes=2, in_channels=64)))
    assert isinstance(model, ImageClassifier)
    with pytest.raises(KeyError, match='NoSuchModel'):
        MODELS.build(dict(type='NoSuchModel'))


def test_register_all_modules_switches_scope_with_warning():
    DefaultScope.get_instance('other-scope', scope_name='mmdet')
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        register_all_modules(init_default_scope=True)
    assert any('"ssld_mm"' in str(w.message) for w in caught)
    assert DefaultScope.get_current_instance().scope_name == 'ssld_mm'


def test_mmcv_ops_run_on_cpu_and_mm_packages_import():
    report = check_stack()
    assert report['mmcv'].startswith('2.1.0')
    assert report['mmdet'] == '3.3.0' and report['mmpretrain'] == '1.2.0'
