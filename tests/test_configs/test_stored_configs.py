"""configs/ssld_stored: the stored-teacher switch of an SSLD recipe loads,
builds, and differs from its online recipe only where it should."""
import glob
import os.path as osp

import pytest
import torch
from conftest import REPO
from mmengine.config import Config
from mmpretrain.structures import DataSample

STORED = sorted(glob.glob(osp.join(REPO, 'configs', 'ssld_stored', '*.py')))


def _online_of(path):
    return osp.join(REPO, 'configs', 'ssld',
                    osp.basename(path).replace('_stored.py', '.py'))


def test_there_is_a_stored_config():
    assert STORED and all(osp.isfile(_online_of(p)) for p in STORED)


@pytest.mark.parametrize('path', STORED, ids=osp.basename)
def test_stored_config_is_the_online_recipe_with_the_switch(path):
    from ssld_mm.registry import MODELS
    from ssld_mm.utils import register_all_modules
    register_all_modules()
    cfg, online = Config.fromfile(path), Config.fromfile(_online_of(path))
    # same student network, schedule and optimizer as the online recipe
    student = online.model.student
    assert cfg.model.type == 'mmpretrain.ImageClassifier'
    assert cfg.model.backbone == student.backbone
    assert cfg.model.neck == student.neck
    for key in ('num_classes', 'in_channels', 'mid_channels', 'dropout_rate'):
        assert cfg.model.head[key] == student.head[key], key
    assert cfg.model.head.type == 'ssld_mm.SoftLabelPaddleMobileNetV3Head'
    assert cfg.model.head.distill_loss == online.model.distill_loss
    assert cfg.model.head.gt_loss_weight == online.model.gt_loss_weight
    for key in ('optim_wrapper', 'param_scheduler', 'train_cfg', 'auto_scale_lr',
                'val_dataloader'):
        assert cfg[key] == online[key], key
    assert cfg.train_dataloader.batch_size == online.train_dataloader.batch_size
    # the switch: the stored view replaces the random crop + flip
    types = [t['type'].split('.')[-1] for t in cfg.train_dataloader.dataset.pipeline]
    assert 'ReplayStoredView' in types
    assert 'RandomResizedCrop' not in types and 'RandomFlip' not in types
    replay = cfg.train_dataloader.dataset.pipeline[types.index('ReplayStoredView')]
    crop = [
        t for t in online.train_dataloader.dataset.datasets[0].pipeline
        if t['type'].endswith('RandomResizedCrop')
    ][0]
    assert replay['scale'] == crop['scale']
    assert dict(type='ssld_mm.StoredViewEpochHook') in cfg.custom_hooks
    # builds (the Runner hands the top-level data_preprocessor to the model)
    # and computes the soft-label loss on a batch with stored distributions
    model_cfg = dict(cfg.model, data_preprocessor=cfg.data_preprocessor)
    model = MODELS.build(model_cfg)
    assert type(model.data_preprocessor).__name__ == 'SSLDDataPreprocessor'
    probs = torch.softmax(torch.randn(2, 1000), 1)
    samples = [DataSample().set_gt_score(p) for p in probs]
    samples[0].set_gt_label(3)
    data = model.data_preprocessor(
        dict(
            inputs=[torch.randint(0, 256, (3, 64, 64), dtype=torch.uint8)] * 2,
            data_samples=samples), True)
    losses = model(**data, mode='loss')
    assert set(losses) == {'loss_distill'} and losses['loss_distill'] > 0
