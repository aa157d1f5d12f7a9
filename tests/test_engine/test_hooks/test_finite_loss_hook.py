"""FiniteLossHook: a NaN/inf loss stops the run at that iteration, naming the
term, before the optimizer step (weights and checkpoints stay finite); a broken
teacher is named at the first batch; every config has the hook."""
import glob
import os.path as osp

import pytest
import torch
from conftest import REPO, TINY_CLS_CONFIG, TINY_DISTILL_CONFIG
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

from ssld_mm.engine.hooks.finite_loss_hook import (NonFiniteLossError,
                                                   add_finite_loss_hook)

DISTILL = TINY_DISTILL_CONFIG


class _Snapshot(Hook):
    """Keeps the model's weights after every iteration."""

    def __init__(self):
        self.after = {}

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.after[runner.iter] = {
            k: v.detach().clone()
            for k, v in runner.model.named_parameters()
        }


def _runner(cfg_path, work, folder, **extra):
    cfg = Config.fromfile(cfg_path)
    cfg.work_dir = str(work)
    cfg.train_dataloader.dataset.data_root = folder
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.custom_hooks = []
    cfg.merge_from_dict(extra)
    return Runner.from_cfg(cfg)


def _poison(monkeypatch, cls, term, at_call, value=float('nan')):
    """Make ``cls.loss`` return ``value`` for ``term`` at its ``at_call``-th call."""
    orig, calls = cls.loss, [0]

    def loss(self, *a, **k):
        out = orig(self, *a, **k)
        calls[0] += 1
        if calls[0] == at_call:
            out[term] = out[term] * value
        return out

    monkeypatch.setattr(cls, 'loss', loss)


def test_nan_distill_loss_stops_before_the_step(tmp_path, image_folder, tiny_teacher,
                                                monkeypatch):
    from ssld_mm.models.distillers.ssld_distiller import SSLDDistiller
    _poison(monkeypatch, SSLDDistiller, 'loss_distill', at_call=6)  # epoch 2, iter 2
    runner = _runner(
        DISTILL, tmp_path / 'w', image_folder, model=dict(teacher_ckpt=tiny_teacher[0]))
    snap = _Snapshot()
    runner.register_hook(snap)
    with pytest.raises(NonFiniteLossError) as e:
        runner.train()
    msg = str(e.value)
    assert msg.startswith('iteration 6 (epoch 2): non-finite loss: loss_distill = nan')
    assert 'before the optimizer step' in msg and 'teacher' in msg
    # the weights are those after iteration 5 (0-based 4): no NaN step happened
    # (BN running statistics of the forward pass do move, and stay finite)
    now = dict(runner.model.named_parameters())
    for k, v in snap.after[4].items():
        assert torch.equal(now[k], v), k
    assert all(
        torch.isfinite(v).all() for v in runner.model.state_dict().values()
        if v.is_floating_point())
    ckpt = torch.load(tmp_path / 'w' / 'epoch_1.pth', weights_only=False)
    assert all(
        torch.isfinite(v).all() for v in ckpt['state_dict'].values()
        if v.is_floating_point())
    assert not (tmp_path / 'w' / 'epoch_2.pth').exists()


def test_inf_classification_loss_in_finetuning(tmp_path, image_folder, monkeypatch):
    from mmpretrain.models import ImageClassifier
    _poison(monkeypatch, ImageClassifier, 'loss', at_call=3, value=float('inf'))
    runner = _runner(TINY_CLS_CONFIG, tmp_path / 'w', image_folder)
    with pytest.raises(
            NonFiniteLossError,
            match=r'^iteration 3 \(epoch 1\): non-finite loss: loss = inf'):
        runner.train()


def test_broken_teacher_is_named_at_the_first_batch(tmp_path, image_folder,
                                                    tiny_teacher):
    _, teacher = tiny_teacher
    state = teacher.state_dict()
    state['head.fc.bias'][1] = float('nan')
    bad = str(tmp_path / 'broken_teacher.pth')
    torch.save({'state_dict': state}, bad)
    runner = _runner(
        DISTILL, tmp_path / 'w', image_folder, model=dict(teacher_ckpt=bad))
    with pytest.raises(NonFiniteLossError) as e:
        runner.train()
    msg = str(e.value)
    assert msg.startswith("iteration 1 (epoch 1): the teacher's logits of the "
                          'first batch are not finite (4 of 12 values')
    assert 'broken_teacher.pth' in msg


def test_every_config_has_the_hook_and_detection_gets_it():
    from mmengine.registry import HOOKS, init_default_scope
    paths = [
        p for folder in ('ssld', 'paddleclas', 'fixres', 'transfer', 'demo')
        for p in glob.glob(osp.join(REPO, 'configs', folder, '*.py'))
    ]
    assert len(paths) > 40
    for path in paths:
        hooks = Config.fromfile(path).get('default_hooks', {})
        assert hooks.get('finite_loss', {}).get('type') == 'FiniteLossHook', path
    det = sorted(glob.glob(osp.join(REPO, 'configs', 'detection', '*.py')))[0]
    cfg = Config.fromfile(det)
    add_finite_loss_hook(cfg)
    init_default_scope(cfg.default_scope)
    hook = HOOKS.build(cfg.default_hooks.finite_loss)
    assert type(hook).__name__ == 'FiniteLossHook'
    off = Config(dict(default_hooks=dict(finite_loss=None)))
    add_finite_loss_hook(off)
    assert off.default_hooks.finite_loss is None  # switched off stays off


def test_detector_losses_are_checked():
    """The hook wraps any BaseModel's parse_losses: an MMDetection detector's."""
    from mmdet.models.detectors.base import BaseDetector
    from mmengine.model import BaseModel
    assert BaseDetector.parse_losses is BaseModel.parse_losses

    class Det(BaseDetector):

        def __init__(self):
            super().__init__()

        def loss(self, *a):
            pass

        predict = _forward = extract_feat = loss

    class FakeRunner:
        model = Det()
        iter = 41
        epoch = 0
        train_loop = type('IterBasedTrainLoop', (), {})()

    from ssld_mm.engine.hooks import FiniteLossHook
    FiniteLossHook().before_train(FakeRunner)
    ok = {'loss_rpn_cls': torch.tensor(0.5), 'loss_bbox': [torch.tensor(1.)]}
    loss, _ = FakeRunner.model.parse_losses(ok)
    assert loss.item() == 1.5
    bad = {
        'loss_rpn_cls': torch.tensor(0.5),
        'loss_bbox': [torch.tensor(1.), torch.tensor(float('nan'))]
    }
    with pytest.raises(
            NonFiniteLossError,
            match=r'^iteration 42: non-finite loss: loss_bbox = nan'):
        FakeRunner.model.parse_losses(bad)
