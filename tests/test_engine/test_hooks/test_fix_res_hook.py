"""FixResHook through a real Runner: what trains, what stays, resume."""
import glob
import os.path as osp
import types
import uuid

import pytest
import torch
import torch.nn as nn
from conftest import TINY_CLS_CONFIG
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.registry import DefaultScope
from mmengine.runner import IterBasedTrainLoop, Runner

from ssld_mm.engine.hooks import FixResHook
from ssld_mm.registry import MODELS
from ssld_mm.utils import load_local_checkpoint, register_all_modules

BN_BUFFERS = ('running_mean', 'running_var', 'num_batches_tracked')


def tiny_cfg(work_dir, folder, max_epochs=1, hook=None, load_from=None):
    cfg = Config.fromfile(TINY_CLS_CONFIG)
    cfg.work_dir = str(work_dir)
    cfg.experiment_name = f'fixres_{uuid.uuid4().hex}'
    cfg.train_dataloader.dataset.data_root = folder
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.test_dataloader = cfg.test_cfg = cfg.test_evaluator = None
    cfg.train_cfg = dict(by_epoch=True, max_epochs=max_epochs)
    cfg.param_scheduler = None
    cfg.custom_hooks = [hook] if hook else []
    cfg.load_from = load_from
    return cfg


@pytest.fixture
def init_ckpt(tmp_path):
    """A randomly initialised tiny classifier saved as a checkpoint."""
    register_all_modules(init_default_scope=True)
    cfg = Config.fromfile(TINY_CLS_CONFIG)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    path = str(tmp_path / 'init.pth')
    torch.save({'state_dict': model.state_dict()}, path)
    DefaultScope._instance_dict.clear()
    return path


def state(obj):
    if isinstance(obj, str):
        obj = load_local_checkpoint(obj)['state_dict']
    return {k: v.detach().clone() for k, v in obj.items()}


def changed(a, b):
    return sorted(k for k in a if not torch.equal(a[k], b[k]))


def train(cfg):
    runner = Runner.from_cfg(cfg)
    runner.train()
    return runner


def is_bn_buffer(key):
    return key.endswith(BN_BUFFERS)


def test_only_classifier_changes_and_bn_statistics_stay(tmp_path, image_folder,
                                                        init_ckpt):
    runner = train(
        tiny_cfg(
            tmp_path / 'w',
            image_folder,
            hook=dict(type='FixResHook'),
            load_from=init_ckpt))
    before, after = state(init_ckpt), state(runner.model.state_dict())
    diff = changed(before, after)
    assert diff == ['head.fc.bias', 'head.fc.weight']
    assert [n for n, p in runner.model.named_parameters()
            if p.requires_grad] == ['head.fc.weight', 'head.fc.bias']
    bn = runner.model.backbone.layer1[0].bn1
    assert not bn.training  # kept in eval mode through model.train() calls
    log = open(glob.glob(osp.join(str(tmp_path / 'w'), '*', '*.log'))[0]).read()
    assert ("FixResHook applied from the first iteration: 2 parameter tensors "
            "stay trainable: ['head.fc.weight', 'head.fc.bias']") in log
    assert 'BN layers outside [\'head\'] frozen (eval mode)' in log


def test_update_bn_stats_lets_only_bn_buffers_adapt(tmp_path, image_folder, init_ckpt):
    runner = train(
        tiny_cfg(
            tmp_path / 'w',
            image_folder,
            load_from=init_ckpt,
            hook=dict(type='FixResHook', update_bn_stats=True)))
    before, after = state(init_ckpt), state(runner.model.state_dict())
    diff = changed(before, after)
    head = [k for k in diff if k.startswith('head.')]
    others = [k for k in diff if not k.startswith('head.')]
    assert head == ['head.fc.bias', 'head.fc.weight']
    assert others and all(is_bn_buffer(k) for k in others)
    # every BN layer of the backbone adapted its running statistics ...
    bn_means = [k for k in before if k.endswith('running_mean')]
    assert set(bn_means) <= set(others)
    # ... while BN affine weights and all convs stayed
    assert not any(k.endswith(('bn1.weight', 'bn1.bias', 'conv1.weight')) for k in diff)


def test_begin_epoch_pipeline_switch_and_resume(tmp_path, image_folder, init_ckpt):
    pipeline = [
        dict(type='mmpretrain.LoadImageFromFile'),
        dict(type='mmpretrain.Resize', scale=(40, 40)),
        dict(type='mmpretrain.PackInputs'),
    ]
    hook = dict(type='FixResHook', begin_epoch=1, train_pipeline=pipeline)
    full = tmp_path / 'full'
    runner = train(
        tiny_cfg(full, image_folder, max_epochs=3, hook=hook, load_from=init_ckpt))
    fixres = next(h for h in runner.hooks if isinstance(h, FixResHook))
    assert runner.train_loop.dataloader.dataset.pipeline is fixres.train_pipeline
    init = state(init_ckpt)
    e1, e2, e3 = (state(str(full / f'epoch_{i}.pth')) for i in (1, 2, 3))
    # epoch 0 is ordinary training: the backbone moves
    assert 'backbone.conv1.weight' in changed(init, e1)
    # from begin_epoch=1 on only the classifier does
    assert changed(e1, e2) == ['head.fc.bias', 'head.fc.weight']
    assert changed(e2, e3) == ['head.fc.bias', 'head.fc.weight']

    # Resume after epoch 2: the hook re-applies itself before training goes on.
    DefaultScope._instance_dict.clear()
    part = tmp_path / 'part'
    cfg = tiny_cfg(
        part,
        image_folder,
        max_epochs=3,
        hook=hook,
        load_from=str(full / 'epoch_2.pth'))
    cfg.resume = True
    runner = train(cfg)
    r3 = state(runner.model.state_dict())
    assert changed(e2, r3) == ['head.fc.bias', 'head.fc.weight']
    for key in r3:  # same result as the uninterrupted run
        torch.testing.assert_close(r3[key], e3[key], msg=key)
    log = open(glob.glob(osp.join(str(part), '*', '*.log'))[0]).read()
    assert 'FixResHook applied resumed at epoch 2' in log


def fake_runner(model, epoch=0, train_loop=None):
    return types.SimpleNamespace(
        model=model,
        epoch=epoch,
        train_loop=train_loop,
        logger=MMLogger.get_instance(f'fixres-{uuid.uuid4().hex}'))


class Net(nn.Module):

    def __init__(self):
        super().__init__()
        self.backbone = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
        self.header = nn.Linear(2, 2)


def test_trainable_paths_are_module_paths_and_must_match():
    with pytest.raises(
            ValueError,
            match=r"no trainable parameter under "
            r"\('head',\) in Net; top-level modules: "
            r"\['backbone', 'header'\]"):
        FixResHook().before_train(fake_runner(Net()))
    net = Net()
    FixResHook(trainable='header').before_train(fake_runner(net))
    assert [n for n, p in net.named_parameters() if p.requires_grad] == \
        ['header.weight', 'header.bias']


def test_argument_validation():
    with pytest.raises(TypeError, match='trainable must be'):
        FixResHook(trainable=[])
    with pytest.raises(ValueError, match='begin_epoch must be an int >= 0'):
        FixResHook(begin_epoch=-1)
    with pytest.raises(TypeError, match='update_bn_stats must be a bool'):
        FixResHook(update_bn_stats='yes')
    loop = object.__new__(IterBasedTrainLoop)
    with pytest.raises(ValueError, match='needs an epoch-based train loop'):
        FixResHook(
            trainable='header',
            begin_epoch=2).before_train(fake_runner(Net(), train_loop=loop))


def test_ddp_without_find_unused_parameters_is_refused(tmp_path):
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel
    if dist.is_initialized():
        pytest.skip('a process group already exists')
    dist.init_process_group(
        'gloo', init_method=f'file://{tmp_path}/store', rank=0, world_size=1)
    try:
        with pytest.raises(RuntimeError, match='find_unused_parameters=True'):
            FixResHook(trainable='header').before_train(
                fake_runner(DistributedDataParallel(Net())))
        net = Net()
        FixResHook(trainable='header').before_train(
            fake_runner(DistributedDataParallel(net, find_unused_parameters=True)))
        assert not net.backbone[0].weight.requires_grad
    finally:
        dist.destroy_process_group()
