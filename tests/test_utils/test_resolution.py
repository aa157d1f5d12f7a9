"""Test-resolution override: set_test_resolution and tools/test.py --test-size."""
import os.path as osp
import pickle

import pytest
import torch
from conftest import REPO, TINY_CLS_CONFIG, run_tool
from mmengine.config import Config

from ssld_mm.registry import MODELS
from ssld_mm.utils import register_all_modules
from ssld_mm.utils.resolution import default_resize_size, set_test_resolution

TEST = osp.join(REPO, 'tools', 'test.py')


def test_default_resize_follows_256_over_224():
    assert [default_resize_size(s) for s in (224, 256, 288, 320)] == \
        [256, 292, 329, 365]


def test_imagenet_test_pipeline_at_1_15x():
    cfg = Config.fromfile(
        osp.join(REPO, 'configs', 'transfer', 'resnet50_vd_ssld_flowers102.py'))
    train_before = str(cfg.train_dataloader.dataset.pipeline)
    changes = set_test_resolution(cfg, 256, 320)
    pipeline = cfg.test_dataloader.dataset.pipeline
    assert pipeline[1]['scale'] == 320 and pipeline[1]['edge'] == 'short'
    assert pipeline[2]['crop_size'] == 256
    assert changes == ['ResizeEdge.scale=320', 'CenterCrop.crop_size=256']
    assert str(cfg.train_dataloader.dataset.pipeline) == train_before
    set_test_resolution(cfg, 320)
    assert pipeline[1]['scale'] == 365 and pipeline[2]['crop_size'] == 320


def test_dataset_wrappers_and_fixed_resize():
    inner = dict(type='X', pipeline=[dict(type='mmpretrain.Resize', scale=(32, 32))])
    cfg = Config(
        dict(
            test_dataloader=dict(
                dataset=dict(
                    type='ConcatDataset',
                    datasets=[
                        dict(type='RepeatDataset', times=2, dataset=inner),
                        dict(
                            type='Y',
                            pipeline=[
                                dict(type='Resize', scale=(300, 300)),
                                dict(type='CenterCrop', crop_size=224)
                            ])
                    ]))))
    set_test_resolution(cfg, 40)
    first, second = cfg.test_dataloader.dataset.datasets
    assert first.dataset.pipeline[0].scale == (40, 40)  # no crop: final size
    assert second.pipeline[0].scale == (45, 45)  # resize before the crop
    assert second.pipeline[1].crop_size == 40


@pytest.mark.parametrize('kwargs, match', [
    (dict(crop_size=0), 'crop_size must be a positive int'),
    (dict(crop_size=320, resize_size=300), r'resize_size must be an int >= '
     r'crop_size \(320\)'),
])
def test_invalid_sizes(kwargs, match):
    cfg = Config.fromfile(TINY_CLS_CONFIG)
    with pytest.raises(ValueError, match=match):
        set_test_resolution(cfg, **kwargs)


def test_pipeline_without_resize_is_an_error():
    cfg = Config(
        dict(
            test_dataloader=dict(
                dataset=dict(type='X', pipeline=[dict(type='PackInputs')]))))
    with pytest.raises(
            ValueError,
            match=r"no ResizeEdge, Resize or "
            r"CenterCrop step.*\[\['PackInputs'\]\]"):
        set_test_resolution(cfg, 256)
    with pytest.raises(ValueError, match='no test_dataloader.dataset'):
        set_test_resolution(Config(dict()), 256)


def test_tools_test_py_test_size(tmp_path, image_folder):
    register_all_modules(init_default_scope=True)
    model = MODELS.build(Config.fromfile(TINY_CLS_CONFIG).model)
    ckpt = tmp_path / 'model.pth'
    torch.save({'state_dict': model.state_dict()}, ckpt)
    out = tmp_path / 'preds.pkl'
    proc = run_tool([
        TEST, TINY_CLS_CONFIG,
        str(ckpt), '--test-size', '40', '--work-dir',
        str(tmp_path / 'w'), '--out',
        str(out), '--cfg-options', f'test_dataloader.dataset.data_root={image_folder}'
    ])
    assert '--test-size: Resize.scale=(40, 40)' in proc.stdout
    with open(out, 'rb') as f:
        preds = pickle.load(f)
    assert len(preds) == 18
    assert {tuple(p['img_shape']) for p in preds} == {(40, 40)}
