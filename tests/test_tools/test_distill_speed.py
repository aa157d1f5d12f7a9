"""tools/benchmark/distill_speed.py: student step, teacher forward, distiller step."""
import json
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from conftest import REPO, run_tool
# tools/benchmark/ is on pytest's pythonpath (setup.cfg)
from distill_speed import (benchmark, format_report, guess_input_shape,
                           make_batch)

TOOL = osp.join(REPO, 'tools', 'benchmark', 'distill_speed.py')
TINY = osp.join(REPO, 'tests', 'data', 'configs', 'tiny_distill.py')
DEMO = osp.join(REPO, 'configs', 'demo', 'ssld_lenet5_fmnist_unlabeled.py')


def test_guess_input_shape():
    assert guess_input_shape(Config.fromfile(DEMO)) == (1, 32, 32)
    assert guess_input_shape(Config.fromfile(TINY)) == (3, 32, 32)
    r50 = osp.join(REPO, 'configs', 'ssld', 'r50vd_mbv3.py')
    assert guess_input_shape(Config.fromfile(r50)) == (3, 224, 224)


def test_make_batch_is_deterministic_and_labeled():
    a, b = make_batch(3, (1, 4, 4), 5, seed=1), make_batch(3, (1, 4, 4), 5, seed=1)
    assert all(torch.equal(x, y) for x, y in zip(a['inputs'], b['inputs']))
    assert a['inputs'][0].dtype == torch.uint8 and a['inputs'][0].shape == (1, 4, 4)
    assert [int(s.gt_label) for s in a['data_samples']] == \
        [int(s.gt_label) for s in b['data_samples']]
    assert all(0 <= int(s.gt_label) < 5 for s in a['data_samples'])


def test_benchmark_result_is_consistent():
    cfg = Config.fromfile(TINY)
    res = benchmark(cfg, batch_size=2, device='cpu', rounds=2, iters=1,
                    warmup=1, channels_last=True)
    assert res['batch_size'] == 2 and res['input_shape'] == [3, 32, 32]
    assert res['teacher_weights'].startswith('random')  # ckpt file absent
    assert res['channels_last'] is True and res['amp'] is False
    for key in ('student_step', 'teacher_forward', 'distiller_step'):
        assert res[key]['seconds'] > 0
        assert res[key]['images_per_s'] == pytest.approx(2 / res[key]['seconds'])
    assert res['ratio'] == pytest.approx(
        res['distiller_step']['seconds'] /
        (res['student_step']['seconds'] + res['teacher_forward']['seconds']))
    text = format_report(res, 'x.py')
    assert '(c) distiller training step' in text and 'ratio c / (a + b) =' in text


def test_benchmark_amp_sets_teacher_autocast_on_cpu():
    res = benchmark(Config.fromfile(TINY), batch_size=2, device='cpu', amp=True,
                    rounds=1, iters=1, warmup=0)
    assert res['amp_dtype'] == 'bfloat16' and res['teacher_autocast'] == 'bfloat16'


def test_benchmark_rejects_plain_classifier():
    cfg = Config.fromfile(osp.join(REPO, 'tests', 'data', 'configs', 'tiny_cls.py'))
    with pytest.raises(ValueError, match='SSLDDistiller'):
        benchmark(cfg, batch_size=2, device='cpu')


def test_cli_prints_and_writes_json(tmp_path):
    out = tmp_path / 'speed.json'
    proc = run_tool([TOOL, DEMO, '--batch-size', '4', '--rounds', '1',
                     '--iters', '1', '--warmup', '0', '--threads', '1',
                     '--device', 'cpu', '--out', str(out)])
    assert 'batch 4 x (1, 32, 32)' in proc.stdout
    assert '(a) student training step' in proc.stdout
    data = json.loads(out.read_text())
    assert data['config'] == DEMO and data['torch_threads'] == 1
    assert data['ratio'] > 0
