"""`make demo` pieces: data prep, result gathering, plotting, job pool, configs,
and a scaled-down end-to-end run on synthetic Fashion-MNIST-format files."""
import gzip
import json
import math
import os
import os.path as osp
import struct
import sys

import numpy as np
import pytest
from conftest import REPO, run_tool
# tools/demo/ is on pytest's pythonpath (setup.cfg)
from demo_data import (DataNotFoundError, find_source, prepare_fashion_mnist,
                       read_idx_header, write_fake_fashion_mnist, write_split)
from demo_pipeline import (CONFIGS, Job, JobFailed, data_options, run_jobs,
                           schedule_options)
from demo_results import (find_scalars_file, format_table, mean_std, plot_curves,
                          read_curve)
from mmengine.config import Config, DictAction

RUN_DEMO = osp.join(REPO, 'tools', 'demo', 'run_demo.py')
PREPARE = osp.join(REPO, 'tools', 'demo', 'prepare_data.py')
DEMO_CONFIGS = osp.join(REPO, 'configs', 'demo')
NAMES = [
    'train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte',
    't10k-labels-idx1-ubyte'
]

# ------------------------------------------------------------------ data


def test_find_source_order_and_errors(tmp_path):
    system = write_fake_fashion_mnist(str(tmp_path / 'system'), 20, 10, gzip_files=True)
    custom = write_fake_fashion_mnist(str(tmp_path / 'custom'), 20, 10)
    # the environment variable wins over the system folder
    assert find_source({'FASHION_MNIST_DIR': custom}, system) == custom
    assert find_source({}, system) == system
    # a variable pointing at a folder without the files is an error, not a fallback
    with pytest.raises(DataNotFoundError, match='FASHION_MNIST_DIR=.*empty'):
        os.makedirs(tmp_path / 'empty')
        find_source({'FASHION_MNIST_DIR': str(tmp_path / 'empty')}, system)
    # neither place: the message names both and the fixes
    with pytest.raises(DataNotFoundError) as err:
        find_source({}, str(tmp_path / 'nowhere'))
    msg = str(err.value)
    assert '$FASHION_MNIST_DIR (not set)' in msg
    assert str(tmp_path / 'nowhere') in msg
    assert 'apt-get install dataset-fashion-mnist' in msg


def test_prepare_unpacks_once_and_repairs(tmp_path):
    src = write_fake_fashion_mnist(str(tmp_path / 'src'), 30, 12, gzip_files=True)
    dst = str(tmp_path / 'data')
    written = prepare_fashion_mnist(dst, src, check_counts=False)
    assert sorted(osp.basename(p) for p in written) == sorted(NAMES)
    assert read_idx_header(osp.join(dst, NAMES[0])) == (0x0803, 30)
    assert read_idx_header(osp.join(dst, NAMES[3])) == (0x0801, 12)
    with gzip.open(osp.join(src, NAMES[1] + '.gz')) as f:
        assert open(osp.join(dst, NAMES[1]), 'rb').read() == f.read()
    # idempotent: nothing rewritten, no source needed
    assert prepare_fashion_mnist(dst, str(tmp_path / 'gone'), check_counts=False) == []
    # a damaged file is replaced
    with open(osp.join(dst, NAMES[2]), 'wb') as f:
        f.write(struct.pack('>II', 0x0801, 12))
    assert prepare_fashion_mnist(
        dst, src, check_counts=False) == [osp.join(dst, NAMES[2])]
    # the official sizes are required by default (60000/10000)
    with pytest.raises(ValueError, match='30 items, expected 60000'):
        prepare_fashion_mnist(str(tmp_path / 'strict'), src)


def test_write_split_is_disjoint_deterministic(tmp_path):
    root = write_fake_fashion_mnist(str(tmp_path / 'd'), 100, 10)
    l_path, u_path = write_split(root, 20, 50)
    labeled = np.loadtxt(l_path, dtype=int)
    unlabeled = np.loadtxt(u_path, dtype=int)
    assert len(labeled) == 20 and len(unlabeled) == 50
    assert not set(labeled) & set(unlabeled)
    assert list(labeled) == sorted(labeled)
    mtime = os.stat(l_path).st_mtime_ns
    write_split(root, 20, 50)  # same content: files untouched
    assert os.stat(l_path).st_mtime_ns == mtime
    _, u_all = write_split(root, 20, -1)
    assert sorted(set(np.loadtxt(u_all, dtype=int)) | set(labeled)) == list(range(100))
    with pytest.raises(ValueError, match='num_unlabeled must be -1 or in'):
        write_split(root, 20, 81)
    with pytest.raises(ValueError, match='num_labeled must be in'):
        write_split(root, 100, 0)


def test_fake_data_reads_as_fashion_mnist(tmp_path):
    from ssld_mm.registry import DATASETS
    from ssld_mm.utils import register_all_modules
    register_all_modules()
    root = write_fake_fashion_mnist(str(tmp_path / 'd'), 40, 20)
    test = DATASETS.build(
        dict(
            type='mmpretrain.FashionMNIST',
            data_root=root,
            test_mode=True,
            download=False,
            pipeline=[]))
    assert len(test) == 20
    info = test.get_data_info(3)
    # the class is the mean grey level: 25 * c + 10 (+- 10 noise)
    assert abs(info['img'].mean() - (25 * int(info['gt_label']) + 10)) < 2


def test_prepare_cli_missing_data_names_both_places(tmp_path):
    empty = tmp_path / 'empty'
    empty.mkdir()
    with pytest.raises(AssertionError) as err:
        run_tool([PREPARE, '--data-root', str(tmp_path / 'out')],
                 env={'FASHION_MNIST_DIR': str(empty)})
    assert 'exited 2' in str(err.value)
    assert 'does not hold the four Fashion-MNIST files' in str(err.value)


# --------------------------------------------------------------- results


def _write_scalars(work_dir, stamp, records):
    folder = osp.join(work_dir, stamp, 'vis_data')
    os.makedirs(folder, exist_ok=True)
    with open(osp.join(folder, 'scalars.json'), 'w') as f:
        for r in records:
            f.write(json.dumps(r) + '\n')


def test_read_curve_latest_run_and_resume(tmp_path):
    wd = str(tmp_path / 'run')
    _write_scalars(wd, '20240101_000000', [{'accuracy/top1': 1.0, 'step': 1}])
    _write_scalars(
        wd,
        '20240102_000000',
        [
            {
                'lr': 0.1,
                'loss': 2.0,
                'epoch': 1,
                'iter': 5,
                'step': 5
            },
            {
                'accuracy/top1': 50.0,
                'data_time': 0.1,
                'time': 0.2,
                'step': 2
            },
            {
                'accuracy/top1': 60.0,
                'step': 4
            },
            {
                'accuracy/top1': 61.5,
                'step': 4
            },  # resumed: the last value wins
            {
                'accuracy/top1': 70.25,
                'step': 6
            },
        ])
    assert find_scalars_file(wd).endswith(
        osp.join('20240102_000000', 'vis_data', 'scalars.json'))
    assert read_curve(wd) == [(2, 50.0), (4, 61.5), (6, 70.25)]
    with pytest.raises(ValueError, match="no 'accuracy/top5'"):
        read_curve(wd, 'accuracy/top5')
    with pytest.raises(FileNotFoundError, match='no \\*/vis_data/scalars.json'):
        read_curve(str(tmp_path / 'nothing'))


def test_mean_std_and_table():
    mean, std = mean_std([1.0, 2.0, 3.0, 4.0])
    assert mean == 2.5 and math.isclose(std, math.sqrt(5 / 3))
    assert mean_std([7.0]) == (7.0, 0.0)
    with pytest.raises(ValueError):
        mean_std([])
    table = format_table([
        dict(name='teacher', accs=[86.1], seconds=99.6),
        dict(name='student_ssld', accs=[80.0, 82.0], seconds=30, note='x'),
    ]).splitlines()
    assert table[0].split()[:2] == ['run', 'test']
    assert table[2].split() == ['teacher', '86.10', '86.10', '100', 's']
    assert '80.00, 82.00' in table[3] and '81.00 +- 1.41' in table[3]
    assert table[3].rstrip().endswith('x')


def test_plot_curves_writes_png(tmp_path):
    curves = {
        'a': [[(1, 50.0), (2, 60.0)], [(1, 52.0), (2, 58.0)]],
        'b': [[(1, 70.0), (3, 75.0)]]
    }
    one = plot_curves(curves, str(tmp_path / 'sub' / 'one.png'))
    two = plot_curves(
        curves,
        str(tmp_path / 'two.png'),
        curves_by_images={
            'a': [[(2, 50.0)]],
            'b': [[(4, 1.0)]]
        })

    def png_size(path):  # (width, height) from the IHDR chunk
        with open(path, 'rb') as f:
            head = f.read(24)
        assert head[:8] == b'\x89PNG\r\n\x1a\n'
        return struct.unpack('>II', head[16:24])

    assert png_size(one) == (700, 500)
    assert png_size(two) == (1400, 500)  # a second panel


# ------------------------------------------------------------------ jobs


def _py(code):
    return [sys.executable, '-c', code]


def test_run_jobs_order_parallel_and_failure(tmp_path):
    stamp = tmp_path / 'order.txt'
    write = ("import sys, time; time.sleep({t}); "
             "open(r'%s', 'a').write(sys.argv[1] + '\\n')" % stamp)
    jobs = [
        Job('slow',
            lambda: _py(write.format(t=0.6)) + ['slow'],
            log_file=str(tmp_path / 'slow.log'),
            result='x'),
        Job('fast',
            lambda: _py(write.format(t=0.0)) + ['fast'],
            log_file=str(tmp_path / 'fast.log'),
            result='y'),
        Job('after',
            lambda: _py(write.format(t=0.0)) + ['after'],
            deps=['slow'],
            log_file=str(tmp_path / 'after.log'),
            result='x'),
    ]
    lines = []
    run_jobs(jobs, max_parallel=2, echo=lines.append, poll=0.05)
    # fast ran beside slow; after waited for slow
    assert stamp.read_text().split() == ['fast', 'slow', 'after']
    assert all(j.returncode == 0 and j.seconds > 0 for j in jobs)
    assert jobs[0].seconds >= 0.6

    bad = [
        Job('boom',
            lambda: _py("print('about to fail'); raise SystemExit(3)"),
            log_file=str(tmp_path / 'boom.log')),
        Job('never', lambda: pytest.fail('must not start'), deps=['boom'])
    ]
    with pytest.raises(JobFailed, match=r"(?s)'boom' failed \(exit 3\).*about to fail"):
        run_jobs(bad, max_parallel=2, echo=lambda s: None, poll=0.05)

    with pytest.raises(ValueError, match='unknown'):
        run_jobs([Job('a', lambda: None, deps=['zzz'])])
    with pytest.raises(ValueError, match='dependency cycle'):
        run_jobs(
            [Job('a', lambda: None, deps=['b']),
             Job('b', lambda: None, deps=['a'])],
            echo=lambda s: None)


# --------------------------------------------------------------- configs


@pytest.mark.parametrize('kind', sorted(CONFIGS))
def test_demo_configs_take_data_options_and_build(kind, tmp_path):
    from ssld_mm.registry import DATASETS, MODELS
    from ssld_mm.utils import register_all_modules
    register_all_modules()
    root = write_fake_fashion_mnist(str(tmp_path / 'd'), 50, 20)
    l_idx, u_idx = write_split(root, 10, 30)
    cfg = Config.fromfile(osp.join(DEMO_CONFIGS, CONFIGS[kind]))
    opts = {**data_options(kind, root, l_idx, u_idx), **schedule_options(3, 4, 5)}
    # parsed as `--cfg-options` parses them
    cfg.merge_from_dict({k: DictAction._parse_iterable(v) for k, v in opts.items()})
    assert cfg.train_cfg.max_epochs == 3 and cfg.param_scheduler[0].T_max == 3
    assert cfg.train_dataloader.batch_size == 4
    assert cfg.val_dataloader.dataset.test_mode is True  # the 10k test images
    val = DATASETS.build(cfg.val_dataloader.dataset)
    assert len(val) == 20
    train = DATASETS.build(cfg.train_dataloader.dataset)
    if kind == 'distill_unlabeled':
        assert len(train) == 10 + 30
    else:
        assert len(train) == 10
    labeled = kind in ('teacher', 'student_label_only', 'finetune')
    assert ('gt_label' in train[0]['data_samples']) == labeled
    assert tuple(train[0]['inputs'].shape) == (1, 32, 32)
    model_cfg = cfg.model
    if model_cfg.type == 'SSLDDistiller':
        assert model_cfg.gt_loss_weight == 0.0
        assert model_cfg.distill_loss.type == 'SymmetricKLLoss'
        model_cfg.teacher_ckpt = None
    model = MODELS.build(model_cfg)
    import torch
    out = model(torch.zeros(2, 1, 32, 32), mode='tensor')
    assert out.shape == (2, 10)


def test_demo_options_validate_and_resolve(tmp_path):
    from make_demo import DemoOptions, summarise
    opts = DemoOptions(
        work_root=str(tmp_path / 'w'),
        profile='smoke',
        seeds=[3],
        max_parallel=4,
        stored=False)
    assert osp.isabs(opts.work_root) and opts.threads >= 1
    settings = opts.settings()
    assert settings['seeds'] == (3, ) and settings['num_labeled'] == 160
    assert settings['fast_teacher'] is True and settings['distill_loss'] is None
    assert opts.result_keys == ('teacher', 'student_label_only', 'student_ssld',
                                'student_ssld_unlabeled')
    assert 'student_ssld_unlabeled_stored' in DemoOptions().result_keys
    with pytest.raises(ValueError, match="profile must be one of"):
        DemoOptions(profile='huge')
    with pytest.raises(ValueError, match='seeds must not be empty'):
        DemoOptions(seeds=[])
    results = {k: {'accs': [80.0, 82.0]} for k in opts.result_keys}
    results['student_ssld_unlabeled']['distill_accs'] = [70.0, 72.0]
    summary, rows = summarise(opts, results, {'teacher': 5.0})
    assert summary['teacher'] == 81.0 and rows[0]['seconds'] == 5.0
    assert rows[-1]['note'].startswith('after distillation only: 71.00')


# ------------------------------------------------------------ end to end


def test_make_demo_smoke_end_to_end(tmp_path):
    """The whole demo, scaled down, through tools/train.py on fake idx files."""
    src = write_fake_fashion_mnist(str(tmp_path / 'src'), 400, 100, gzip_files=True)
    work = tmp_path / 'work'
    proc = run_tool([
        RUN_DEMO, '--profile', 'smoke', '--work-dir',
        str(work), '--data-root',
        str(tmp_path / 'data'), '--seeds', '0', '1'
    ],
                    env={'FASHION_MNIST_DIR': src},
                    timeout=900)
    out = proc.stdout
    assert 'L = 160 labeled, U = 240 unlabeled' in out
    results = json.loads((work / 'results.json').read_text())
    assert list(results) == [
        'teacher', 'student_label_only', 'student_ssld', 'student_ssld_unlabeled',
        'student_ssld_unlabeled_stored'
    ]
    assert all(0.0 <= v <= 100.0 for v in results.values())
    # the fake data is easy: the teacher learns it within its three epochs
    assert results['teacher'] > 30.0
    detail = json.loads((work / 'results_detail.json').read_text())
    for key in ('student_label_only', 'student_ssld', 'student_ssld_unlabeled',
                'student_ssld_unlabeled_stored'):
        accs = detail['runs'][key]['accs']
        assert len(accs) == 2
        assert math.isclose(results[key], round(sum(accs) / 2, 2))
        assert f'{key}  ' in out  # a table row
    # the two-stage curve: 1 distillation epoch, then 1 fine-tuning epoch
    curve = detail['runs']['student_ssld_unlabeled']['curves'][0]
    assert [e for e, _ in curve] == [1, 2]
    assert curve[-1][1] == detail['runs']['student_ssld_unlabeled']['accs'][0]
    with open(work / 'test_accuracy.png', 'rb') as f:
        assert f.read(4) == b'\x89PNG'
    # distillation runs saw no label and loaded the trained teacher
    dumped = Config.fromfile(
        str(work / 'student_ssld_unlabeled' / 'seed_0' / 'distill' /
            'ssld_lenet5_fmnist_unlabeled.py'))
    parts = dumped.train_dataloader.dataset.datasets
    assert [p.type for p in parts] == ['UnlabeledDataset', 'UnlabeledDataset']
    assert dumped.model.teacher_ckpt.startswith(str(work / 'teacher'))
    assert (work / 'student_ssld_unlabeled' / 'seed_0' / 'student.pth').is_file()
    log = (work / 'logs' / 'student_ssld_seed_0.log').read_text()
    assert 'loaded teacher weights from' in log and 'loss_distill' in log
    # the stored-teacher row: one store (L + U, 1 view per image for the one
    # distillation epoch) for both seeds, a plain classifier without teacher
    from ssld_mm.datasets import SoftLabelStore
    stored = work / 'student_ssld_unlabeled_stored'
    store = SoftLabelStore(str(stored / 'soft_labels'))
    assert (store.num_samples, store.num_views, store.topk) == (400, 1, 10)
    assert 'RandomCrop' in store.index['view_sampler']
    assert store.index['teacher_checkpoint'].startswith(str(work / 'teacher'))
    dumped = Config.fromfile(
        str(stored / 'seed_1' / 'distill' / 'ssld_lenet5_fmnist_unlabeled_stored.py'))
    assert dumped.model.type == 'mmpretrain.ImageClassifier'
    assert dumped.train_dataloader.dataset.pipeline[2].store == str(stored /
                                                                    'soft_labels')
    log = (work / 'logs' /
           'student_ssld_unlabeled_stored_seed_1_distill.log').read_text()
    assert 'loss_distill' in log and 'loaded teacher weights' not in log
    curve = detail['runs']['student_ssld_unlabeled_stored']['curves'][1]
    assert [e for e, _ in curve] == [1, 2]
    assert detail['job_seconds']['student_ssld_unlabeled_stored/generate'] > 0


def test_run_demo_without_data_says_where_it_looked(tmp_path):
    empty = tmp_path / 'empty'
    empty.mkdir()
    with pytest.raises(AssertionError) as err:
        run_tool([
            RUN_DEMO, '--work-dir',
            str(tmp_path / 'w'), '--data-root',
            str(tmp_path / 'data')
        ],
                 env={'FASHION_MNIST_DIR': str(empty)})
    assert 'exited 2' in str(err.value)
    assert 'FASHION_MNIST_DIR' in str(err.value)
