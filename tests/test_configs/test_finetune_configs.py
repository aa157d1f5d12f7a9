"""Every fine-tuning config (configs/fixres, configs/transfer) loads and builds on
CPU."""
import copy
import glob
import os.path as osp
import uuid

import pytest
from conftest import REPO
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.runner import Runner

from ssld_mm.engine.hooks import FixResHook
from ssld_mm.registry import DATASETS, HOOKS, MODELS, TRANSFORMS
from ssld_mm.utils import register_all_modules

CONFIGS = sorted(
    glob.glob(osp.join(REPO, 'configs', 'fixres', '*.py')) +
    glob.glob(osp.join(REPO, 'configs', 'transfer', '*.py')))
TRANSFER_DATASETS = ('flowers102', 'caltech101', 'oxford_iiit_pets', 'dtd',
                     'fgvc_aircraft', 'stanford_cars', 'sun397', 'food101', 'cifar10',
                     'cifar100')
LR_MULT = {
    'resnet50_vd': [0.1, 0.1, 0.2, 0.2, 0.3],
    'mobilenet_v3_large': [0.25, 0.25, 0.5, 0.5, 0.75]
}


@pytest.fixture(autouse=True)
def _scope():
    register_all_modules(init_default_scope=True)
    yield


def name_of(path):
    return osp.splitext(osp.basename(path))[0]


def test_every_transfer_dataset_has_both_models():
    names = {name_of(p) for p in CONFIGS}
    for dataset in TRANSFER_DATASETS:
        for arch in LR_MULT:
            assert f'{arch}_ssld_{dataset}' in names
    assert 'resnet50_vd_ssld_autoaug_flowers102' in names
    assert 'resnet50_vd_ssld_fixres_320' in names


def build_model(cfg):
    model_cfg = copy.deepcopy(cfg.model)
    if cfg.get('data_preprocessor') is not None:  # as Runner does
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    return MODELS.build(model_cfg)


@pytest.mark.parametrize('path', CONFIGS, ids=name_of)
def test_config_loads_and_builds(path):
    cfg = Config.fromfile(path)
    assert cfg.default_scope == 'ssld_mm'
    model = build_model(cfg)
    # classes: head == data preprocessor == dataset base (== dataset class)
    num_classes = cfg.data_preprocessor.num_classes
    assert model.head.num_classes == num_classes
    dataset_cls = DATASETS.get(cfg.train_dataloader.dataset.type)
    assert dataset_cls is not None
    assert DATASETS.get(cfg.test_dataloader.dataset.type) is dataset_cls
    classes = getattr(dataset_cls, 'METAINFO', {}).get('classes')
    if classes:
        assert len(classes) == num_classes
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        for transform in cfg[loader].dataset.pipeline:
            TRANSFORMS.build(copy.deepcopy(transform))
    optim_wrapper = build_optim_wrapper(model, copy.deepcopy(cfg.optim_wrapper))
    hooks = [HOOKS.build(copy.deepcopy(h)) for h in cfg.get('custom_hooks', [])]
    assert cfg.load_from.startswith('checkpoints/') and cfg.load_from.endswith('.pth')

    name = name_of(path)
    base_lr = cfg.optim_wrapper.optimizer.lr
    lrs = {}
    ids = {id(p): n for n, p in model.named_parameters()}
    for group in optim_wrapper.optimizer.param_groups:
        for p in group['params']:
            lrs[ids[id(p)]] = group['lr']
    if name.startswith('resnet50_vd_ssld_') and 'fixres' not in name:
        mult = LR_MULT['resnet50_vd']
        assert lrs['backbone.stem.0.conv.weight'] == pytest.approx(base_lr * mult[0])
        assert lrs['backbone.layer3.5.conv2.weight'] == pytest.approx(base_lr * mult[3])
        assert lrs['backbone.layer4.2.conv3.weight'] == pytest.approx(base_lr * mult[4])
        assert lrs['head.fc.weight'] == pytest.approx(base_lr)
        assert cfg.model.backbone.type == 'mmpretrain.ResNetV1d'
    elif name.startswith('mobilenet_v3_large_ssld_'):
        mult = LR_MULT['mobilenet_v3_large']
        assert lrs['backbone.layer0.conv.weight'] == pytest.approx(base_lr * mult[0])
        assert lrs['backbone.layer5.expand_conv.conv.weight'] == pytest.approx(base_lr *
                                                                               mult[1])
        assert lrs['backbone.layer12.expand_conv.conv.weight'] == \
            pytest.approx(base_lr * mult[3])
        assert lrs['backbone.layer16.conv.weight'] == pytest.approx(base_lr * mult[4])
        assert lrs['head.layers.1.fc.weight'] == pytest.approx(base_lr)
    if 'autoaug' in name:
        assert cfg.optim_wrapper.optimizer.weight_decay == 2e-5
        assert 'mmpretrain.AutoAugment' in [
            t['type'] for t in cfg.train_dataloader.dataset.pipeline
        ]
    if 'fixres' in name:
        assert [type(h) for h in hooks] == [FixResHook]
        assert hooks[0].trainable == ('head', )
        assert hooks[0].update_bn_stats is False


def test_fixres_config_same_preprocessing_at_320_and_runner_builds(tmp_path):
    cfg = Config.fromfile(
        osp.join(REPO, 'configs', 'fixres', 'resnet50_vd_ssld_fixres_320.py'))
    train = [
        t for t in cfg.train_dataloader.dataset.pipeline
        if t['type'] != 'mmpretrain.RandomFlip'
    ]
    test = cfg.test_dataloader.dataset.pipeline
    assert train == test == cfg.val_dataloader.dataset.pipeline
    assert test[1]['scale'] == 365 and test[2]['crop_size'] == 320
    assert cfg.model_wrapper_cfg.find_unused_parameters is True
    cfg.work_dir = str(tmp_path)
    cfg.experiment_name = f'fixres_cfg_{uuid.uuid4().hex}'
    runner = Runner.from_cfg(cfg)  # model, hooks, optimizer cfg, loggers
    assert any(isinstance(h, FixResHook) for h in runner.hooks)
