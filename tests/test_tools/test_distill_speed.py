"""tools/benchmark/distill_speed.py: student step, teacher forward, distiller step."""
import json
import os.path as osp

import pytest
import torch
from conftest import REPO, TINY_DISTILL_CONFIG, run_tool
# tools/benchmark/ is on pytest's pythonpath (setup.cfg)
from distill_speed import benchmark, format_report, guess_input_shape, make_batch
from mmengine.config import Config

TOOL = osp.join(REPO, 'tools', 'benchmark', 'distill_speed.py')
TINY = TINY_DISTILL_CONFIG
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


def test_benchmark_result_is_consistent(monkeypatch):
    """The timings are checked against durations set from outside: a fake
    clock that each real step advances by a known amount (per-round means
    differ from their mean, so the median and the per-iteration division are
    both checked)."""
    import distill_speed

    from ssld_mm.models.distillers import SSLDDistiller
    clock = [0.0]
    monkeypatch.setattr(distill_speed, 'time',
                        type('FakeTime', (), {'perf_counter': lambda: clock[0]}))
    rounds, iters, warmup = 3, 2, 1
    per_round = {  # seconds of each timed call, round by round
        'student_step': [[0.010, 0.012], [0.030, 0.034], [0.020, 0.018]],
        'teacher_forward': [[0.003, 0.005], [0.004, 0.004], [0.100, 0.002]],
        'distiller_step': [[0.050, 0.040], [0.044, 0.046], [0.500, 0.300]],
    }
    expected = {k: sorted(sum(r) / iters for r in v)[1] for k, v in per_round.items()}
    assert expected == pytest.approx({
        'student_step': 0.019,
        'teacher_forward': 0.004,
        'distiller_step': 0.045
    })
    costs = {
        k: iter([9.0] * warmup + [t for r in v for t in r])
        for k, v in per_round.items()
    }
    calls = {k: 0 for k in per_round}
    in_step = []
    real_step = distill_speed._Stepper.__call__
    real_teacher = SSLDDistiller.teacher_logits

    def step(self):
        kind = ('distiller_step'
                if isinstance(self.model, SSLDDistiller) else 'student_step')
        in_step.append(kind)
        real_step(self)
        in_step.pop()
        calls[kind] += 1
        clock[0] += next(costs[kind])

    def teacher(self, inputs):
        out = real_teacher(self, inputs)
        if not in_step:  # the teacher forward measured on its own
            calls['teacher_forward'] += 1
            clock[0] += next(costs['teacher_forward'])
        return out

    monkeypatch.setattr(distill_speed._Stepper, '__call__', step)
    monkeypatch.setattr(SSLDDistiller, 'teacher_logits', teacher)
    cfg = Config.fromfile(TINY)
    res = benchmark(
        cfg,
        batch_size=2,
        device='cpu',
        rounds=rounds,
        iters=iters,
        warmup=warmup,
        channels_last=True)
    assert calls == {k: warmup + rounds * iters for k in per_round}
    assert res['batch_size'] == 2 and res['input_shape'] == [3, 32, 32]
    assert res['teacher_weights'].startswith('random')  # ckpt file absent
    assert res['channels_last'] is True and res['amp'] is False
    for key, sec in expected.items():
        assert res[key]['seconds'] == pytest.approx(sec), key
        assert res[key]['images_per_s'] == pytest.approx(2 / sec), key
    assert res['ratio'] == pytest.approx(0.045 / (0.019 + 0.004))
    text = format_report(res, 'x.py')
    assert '(c) distiller training step' in text and 'ratio c / (a + b) =' in text
    assert f"{0.045 / 0.023:.3f}" in text


def test_benchmark_amp_sets_teacher_autocast_on_cpu(monkeypatch):
    from ssld_mm.models.distillers import SSLDDistiller
    real_teacher = SSLDDistiller.teacher_logits
    used = []  # what the distiller the benchmark built actually runs with

    def teacher(self, inputs):
        used.append((self.teacher_autocast, self.teacher_channels_last))
        return real_teacher(self, inputs)

    monkeypatch.setattr(SSLDDistiller, 'teacher_logits', teacher)
    res = benchmark(
        Config.fromfile(TINY),
        batch_size=2,
        device='cpu',
        amp=True,
        rounds=1,
        iters=1,
        warmup=0)
    assert res['amp_dtype'] == 'bfloat16' and res['teacher_autocast'] == 'bfloat16'
    assert used and set(used) == {('bfloat16', False)}


def test_benchmark_rejects_plain_classifier():
    cfg = Config.fromfile(osp.join(REPO, 'tests', 'data', 'configs', 'tiny_cls.py'))
    with pytest.raises(ValueError, match='SSLDDistiller'):
        benchmark(cfg, batch_size=2, device='cpu')


def test_cli_prints_and_writes_json(tmp_path):
    out = tmp_path / 'speed.json'
    proc = run_tool([
        TOOL, DEMO, '--batch-size', '4', '--rounds', '1', '--iters', '1', '--warmup',
        '0', '--threads', '1', '--device', 'cpu', '--out',
        str(out)
    ])
    assert 'batch 4 x (1, 32, 32)' in proc.stdout
    assert '(a) student training step' in proc.stdout
    data = json.loads(out.read_text())
    assert data['config'] == DEMO and data['torch_threads'] == 1
    assert data['ratio'] > 0
