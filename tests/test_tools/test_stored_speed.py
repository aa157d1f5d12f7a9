"""tools/benchmark/stored_speed.py: label-only / online / stored training
steps, generation vs inference, pipeline costs."""
import json
import os.path as osp

import pytest
import torch
from conftest import REPO, TINY_DISTILL_CONFIG, run_tool
from mmengine.config import Config
# tools/benchmark/ is on pytest's pythonpath (setup.cfg)
from stored_speed import StudentFirst, stored_batch, stored_model_cfg

TOOL = osp.join(REPO, 'tools', 'benchmark', 'stored_speed.py')
TINY = TINY_DISTILL_CONFIG


def test_stored_model_cfg_and_batch():
    cfg = Config.fromfile(TINY)
    m = stored_model_cfg(cfg.model)
    assert m['type'] == 'mmpretrain.ImageClassifier'
    assert m['head']['type'] == 'ssld_mm.SoftLabelClsHead'
    assert m['head']['distill_loss'] == dict(type='JSDivLoss')
    assert m['data_preprocessor']['type'] == 'SSLDDataPreprocessor'
    assert m['data_preprocessor']['mean'] == [127.5] * 3
    bad = dict(
        cfg.model,
        student=dict(
            cfg.model.student, head=dict(type='mmpretrain.VisionTransformerClsHead')))
    with pytest.raises(ValueError, match="VisionTransformerClsHead"):
        stored_model_cfg(bad)
    batch = stored_batch(dict(inputs=[0, 1]), num_classes=5, topk=2)
    for s in batch['data_samples']:
        assert 'gt_label' not in s and s.gt_score.shape == (5, )
        assert float(s.gt_score.sum()) == pytest.approx(1, abs=1e-3)
        assert int((s.gt_score > s.gt_score.min() + 1e-6).sum()) <= 2


def test_student_first_computes_the_same_loss():
    from distill_speed import make_batch

    from ssld_mm.registry import MODELS
    from ssld_mm.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    cfg = Config.fromfile(TINY)
    cfg.model.teacher_ckpt = None
    model = MODELS.build(cfg.model).train()
    data = model.data_preprocessor(make_batch(3, (3, 16, 16), 3), True)
    with torch.no_grad():
        a = model(**data, mode='loss')['loss_distill']
        b = StudentFirst(model)(**data, mode='loss')['loss_distill']
    assert torch.equal(a, b)


def test_tool_runs_and_reports(tmp_path):
    cfg = tmp_path / 'tiny_rrc.py'
    cfg.write_text(f"_base_ = ['{TINY}']\n" + '''
train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='mmpretrain.LoadImageFromFile'),
    dict(type='mmpretrain.RandomResizedCrop', scale=16),
    dict(type='mmpretrain.RandomFlip', prob=0.5),
    dict(type='mmpretrain.PackInputs')]))
''')
    out = tmp_path / 'r.json'
    proc = run_tool([
        TOOL,
        str(cfg), '--batch-size', '2', '--rounds', '1', '--iters', '1', '--warmup', '1',
        '--gen-images', '4', '--gen-views', '2', '--gen-image-size', '20', '24',
        '--gen-batch-size', '2', '--threads', '1', '--out',
        str(out)
    ],
                    timeout=300)
    assert 'stored / label-only' in proc.stdout and 'bytes/view' in proc.stdout
    res = json.loads(out.read_text())
    tr, gen = res['training'], res['generation']
    assert tr['topk'] == 3 and tr['num_classes'] == 3
    assert tr['ratio_stored_vs_label_only'] == pytest.approx(
        tr['stored']['seconds'] / tr['label_only']['seconds'])
    assert tr['stored']['images_per_s'] == pytest.approx(2 / tr['stored']['seconds'])
    # K=3: 8 + 2 + 16 + 1 + 6 * 3 = 45 bytes of arrays per view, plus the
    # headers of one shard of 8 views
    assert 45 < gen['bytes_per_view'] < 45 + 1500 / 8
    assert gen['generation_views_per_s'] > 0 and \
        gen['ratio_generation_vs_inference'] > 0
