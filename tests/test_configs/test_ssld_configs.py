"""Every configs/ssld config loads and builds; a scaled-down r50vd_mbv3 trains."""
import glob
import os.path as osp
import textwrap

import pytest
import torch
from conftest import REPO, run_tool, write_image_folder
from mmengine.config import Config

SSLD_CONFIGS = sorted(glob.glob(osp.join(REPO, 'configs', 'ssld', '*.py')))
# (epochs, weight decay, total batch, lr) per the PaddleClas SSLD tables
TABLE = {
    'r50vd_mbv1': (360, 3e-5, 4096, 1.6),
    'r50vd_mbv1_ft_in1k': (30, 3e-5, 4096, 0.016),
    'r50vd_mbv2': (360, 1e-5, 3072, 0.54),
    'r50vd_mbv2_ft_in1k': (30, 1e-5, 3072, 0.0054),
    'r50vd_mbv3': (360, 1e-5, 5760, 3.65625),
    'r50vd_mbv3_ft_in1k': (30, 1e-5, 2048, 0.008),
    'r50vd_mbv3_small': (360, 1e-5, 5760, 3.65625),
    'r50vd_mbv3_small_ft_in1k': (30, 1e-5, 6400, 0.025),
    'rx101wsl_r50vd': (360, 7e-5, 1024, 0.4),
    'rx101wsl_r50vd_ft_in1k': (60, 7e-5, 1024, 0.004),
    'rx101wsl_r101vd': (360, 7e-5, 1024, 0.4),
    'rx101wsl_r101vd_ft_in1k': (30, 7e-5, 1024, 0.004),
    'rx101wsl_res2net200vd': (360, 4e-5, 1024, 0.4),
    'rx101wsl_res2net200vd_ft_in1k': (360, 4e-5, 1024, 0.004),
}


def test_every_table_row_has_a_config():
    names = {osp.splitext(osp.basename(p))[0] for p in SSLD_CONFIGS}
    assert set(TABLE) <= names, sorted(set(TABLE) - names)


@pytest.mark.parametrize('path', SSLD_CONFIGS, ids=osp.basename)
def test_ssld_config_loads_and_builds(path, monkeypatch):
    monkeypatch.chdir(REPO)  # teacher config paths are relative to the checkout
    from ssld_mm.registry import MODELS
    from ssld_mm.utils import register_all_modules
    register_all_modules()
    cfg = Config.fromfile(path)
    name = osp.splitext(osp.basename(path))[0]
    assert cfg.model.type == 'SSLDDistiller'
    assert cfg.model.gt_loss_weight == 0.0
    assert cfg.default_scope == 'ssld_mm'
    if name in TABLE:
        epochs, wd, total, lr = TABLE[name]
        assert cfg.train_cfg.max_epochs == epochs
        assert cfg.optim_wrapper.optimizer.weight_decay == pytest.approx(wd)
        assert cfg.optim_wrapper.optimizer.lr == pytest.approx(lr)
        assert cfg.auto_scale_lr.base_batch_size == total
        assert cfg.param_scheduler[-1].end == epochs
    if name.endswith('_ft_in1k'):
        assert cfg.load_from.endswith('.pth')
        assert cfg.train_dataloader.dataset.type == 'ImageListDataset'
    else:
        parts = cfg.train_dataloader.dataset.datasets
        assert [d.labeled for d in parts] == [True, False]
    cfg.model.teacher_ckpt = None  # random teacher: building is what we test
    model = MODELS.build(cfg.model)
    n_student = sum(p.numel() for p in model.student.parameters())
    n_teacher = sum(p.numel() for p in model.teacher.parameters())
    assert n_teacher > n_student > 0
    assert not any(p.requires_grad for p in model.teacher.parameters())
    with torch.no_grad():
        model.eval()
        x = torch.randn(1, 3, 64, 64)
        assert model(x, mode='tensor').shape == (1, 1000)
        assert model.teacher_logits(x).shape == (1, 1000)


def _write_list(path, folder, labeled):
    lines = []
    for p in sorted(glob.glob(osp.join(folder, '*', '*.png'))):
        rel = osp.relpath(p, folder)
        label = int(rel.split('_')[1].split('/')[0])
        lines.append(f'{rel} {label}' if labeled else rel)
    path.write_text('\n'.join(lines) + '\n')
    return str(path)


def test_scaled_down_r50vd_mbv3_trains_through_tools(tmp_path):
    from ssld_mm.registry import MODELS
    from ssld_mm.utils import register_all_modules
    register_all_modules()
    labeled = write_image_folder(str(tmp_path / 'labeled'), per_class=2, size=48)
    pool = write_image_folder(str(tmp_path / 'pool'), per_class=2, size=48, seed=1)
    train_list = _write_list(tmp_path / 'train.txt', labeled, labeled=True)
    pool_list = _write_list(tmp_path / 'pool.txt', pool, labeled=False)
    # the real teacher architecture with random weights, saved as a checkpoint
    base = Config.fromfile(osp.join(REPO, 'configs', 'ssld', 'r50vd_mbv3.py'))
    # the teacher config path is resolved next to the config, whatever the cwd
    assert osp.realpath(base.model.teacher) == osp.join(REPO, 'configs', '_base_',
                                                        'models', 'paddleclas',
                                                        'resnet50_vd.py')
    teacher = MODELS.build(Config.fromfile(base.model.teacher).model)
    ckpt = tmp_path / 'teacher.pth'
    torch.save({'state_dict': teacher.state_dict()}, ckpt)
    cfg = tmp_path / 'small.py'
    cfg.write_text(
        textwrap.dedent(f'''
        _base_ = [{osp.join(REPO, 'configs', 'ssld', 'r50vd_mbv3.py')!r}]
        pipeline = [
            dict(type='mmpretrain.LoadImageFromFile'),
            dict(type='mmpretrain.RandomResizedCrop', scale=32, backend='cv2'),
            dict(type='mmpretrain.PackInputs'),
        ]
        test_pipeline = [
            dict(type='mmpretrain.LoadImageFromFile'),
            dict(type='mmpretrain.Resize', scale=(32, 32)),
            dict(type='mmpretrain.PackInputs'),
        ]
        train_dataloader = dict(
            batch_size=4, num_workers=0, drop_last=True,
            dataset=dict(datasets=[
                dict(type='ImageListDataset', data_root={labeled!r},
                     ann_file={train_list!r}, labeled=True, pipeline=pipeline),
                dict(type='ImageListDataset', data_root={pool!r},
                     ann_file={pool_list!r}, labeled=False, pipeline=pipeline),
            ]))
        val_dataloader = dict(
            batch_size=4, num_workers=0,
            dataset=dict(_delete_=True, type='ImageListDataset',
                         data_root={labeled!r}, ann_file={train_list!r},
                         pipeline=test_pipeline))
        test_dataloader = val_dataloader
        val_evaluator = dict(type='mmpretrain.Accuracy', topk=(1, ))
        test_evaluator = val_evaluator
        model = dict(teacher_ckpt={str(ckpt)!r})
        optim_wrapper = dict(optimizer=dict(lr=0.01))
        param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=True)]
        train_cfg = dict(max_epochs=1, val_interval=1)
        default_hooks = dict(logger=dict(interval=1))
    '''))
    work = tmp_path / 'work'
    proc = run_tool(
        [osp.join(REPO, 'tools', 'train.py'),
         str(cfg), '--work-dir',
         str(work)])
    out = proc.stdout + proc.stderr
    assert 'loss_distill' in out and 'accuracy/top1' in out
    saved = torch.load(work / 'epoch_1.pth', weights_only=False)['state_dict']
    assert saved and all(k.startswith('student.') for k in saved)
