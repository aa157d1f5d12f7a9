"""tools/train.py and tools/test.py on the mistakes a newcomer makes (issue 16):
--cfg-options before derived defaults (item 1), distiller checkpoints tested
with a classifier config (item 5), short console and one final ERROR line
naming the config key (item 7)."""
import glob
import os
import os.path as osp
import re
import subprocess
import sys

import pytest
import torch
from conftest import REPO, TINY_CLS_CONFIG, TINY_DISTILL_CONFIG, run_tool
from mmengine.config import Config

from ssld_mm.utils import cli
from ssld_mm.utils.tool_errors import ConfigError, check_config_files, one_line_error

TRAIN = osp.join(REPO, 'tools', 'train.py')
TEST = osp.join(REPO, 'tools', 'test.py')
DISTILL = TINY_DISTILL_CONFIG


def data_opts(folder):
    return [
        f'{k}.dataset.data_root={folder}'
        for k in ('train_dataloader', 'val_dataloader', 'test_dataloader')
    ]


def run_failing(args, cwd=REPO):
    """Run a tool that must fail; return (stdout, stderr)."""
    env = dict(
        os.environ,
        OMP_NUM_THREADS='1',
        PYTHONPATH=REPO + os.pathsep + os.environ.get('PYTHONPATH', ''))
    proc = subprocess.run([sys.executable, *args],
                          cwd=cwd,
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=600)
    assert proc.returncode == 1, (proc.returncode, proc.stdout[-3000:],
                                  proc.stderr[-3000:])
    return proc.stdout, proc.stderr


def last_line(text):
    return text.strip().splitlines()[-1]


@pytest.fixture
def workers2_config(tmp_path):
    """The tiny classifier with 2 workers and persistent workers, as many
    configs ship."""
    cfg = tmp_path / 'workers2.py'
    cfg.write_text(f'_base_ = [{TINY_CLS_CONFIG!r}]\n'
                   'train_dataloader = dict(num_workers=2, persistent_workers=True)\n'
                   'val_dataloader = dict(num_workers=2, persistent_workers=True)\n'
                   'test_dataloader = val_dataloader\n')
    return str(cfg)


# ---- item 1: --cfg-options are applied before the derived defaults --------


def test_load_config_applies_options_before_defaults(workers2_config):
    cfg = cli.load_config(workers2_config, {'train_dataloader.num_workers': 0})
    cli.set_dataloader_defaults(cfg)
    assert cfg.train_dataloader.num_workers == 0
    assert cfg.train_dataloader.persistent_workers is False  # derived
    assert cfg.val_dataloader.persistent_workers is True  # untouched


def test_train_and_test_with_num_workers_0_override(tmp_path, image_folder,
                                                    workers2_config):
    """Item 1, and item 7: the console is short, the dumps are in the log."""
    work = tmp_path / 'w'
    zero = [
        'train_dataloader.num_workers=0', 'val_dataloader.num_workers=0',
        'test_dataloader.num_workers=0'
    ]
    proc = run_tool([
        TRAIN, workers2_config, '--work-dir',
        str(work), '--cfg-options', 'train_cfg.max_epochs=1', *zero,
        *data_opts(image_folder)
    ])
    assert_short_console(proc.stdout, work)
    proc = run_tool([
        TEST, workers2_config,
        str(work / 'epoch_1.pth'), '--work-dir',
        str(work), '--cfg-options', *zero, *data_opts(image_folder)
    ])
    assert 'accuracy/top1' in proc.stdout


# ---- item 7: short console, one final line naming the key -----------------


def assert_short_console(out, work):
    logs = glob.glob(str(work / '*' / '*.log'))
    assert len(logs) == 1
    with open(logs[0]) as f:
        log = f.read()
    for dump in ('System environment:', 'Config:\n', 'Hooks will be executed'):
        assert dump not in out and dump in log
    assert f'Environment, config and hook order: written to {logs[0]}' in out
    # the tiny config dumps ~190 lines into the log; the console keeps the
    # training lines only
    assert len(out.splitlines()) < 40 < len(log.splitlines()) - 150, \
        (len(out.splitlines()), len(log.splitlines()))


def test_missing_teacher_checkpoint_names_model_teacher_ckpt(tmp_path, image_folder):
    missing = str(tmp_path / 'nope.pth')
    out, err = run_failing([
        TRAIN, DISTILL, '--work-dir',
        str(tmp_path / 'w'), '--cfg-options', f'model.teacher_ckpt={missing}',
        *data_opts(image_folder)
    ])
    assert last_line(err) == (
        f"ERROR: train.py: model.teacher_ckpt: checkpoint file {missing!r} "
        'does not exist -> download or convert the teacher (README: "Use '
        'PaddleClas SSLD weights") and pass --cfg-options '
        'model.teacher_ckpt=PATH')
    assert 'Config:' not in out  # stopped before the Runner


def test_missing_data_root_names_the_dataloader_key(tmp_path):
    nowhere = str(tmp_path / 'no_data')
    _, err = run_failing([
        TRAIN, TINY_CLS_CONFIG, '--work-dir',
        str(tmp_path / 'w'), '--cfg-options', *data_opts(nowhere)
    ])
    assert last_line(err) == (
        f'ERROR: train.py: train_dataloader.dataset.data_root: folder '
        f'{nowhere!r} does not exist -> point it to your data: --cfg-options '
        'train_dataloader.dataset.data_root=DIR')


def test_check_config_files_keys(tmp_path):
    (tmp_path / 'data').mkdir()
    cfg = Config(
        dict(
            model=dict(
                type='X',
                backbone=dict(
                    init_cfg=dict(
                        type='Pretrained', checkpoint=str(tmp_path / 'bb.pth')))),
            train_dataloader=dict(
                dataset=dict(
                    type='ConcatDataset',
                    datasets=[dict(data_root=str(tmp_path /
                                                 'data'), ann_file='a.txt')])),
            val_dataloader=dict(dataset=dict(data_root='s3://bucket/x'))))
    with pytest.raises(ConfigError) as e:
        check_config_files(cfg)
    assert e.value.key == 'model.backbone.init_cfg.checkpoint'
    cfg.model.backbone.init_cfg.checkpoint = 'https://x/y.pth'  # URLs skipped
    check_config_files(cfg)  # no dataloader asked for: passes
    with pytest.raises(ConfigError) as e:
        check_config_files(cfg, ('train_dataloader', 'val_dataloader'))
    assert e.value.key == 'train_dataloader.dataset.datasets.0.ann_file'
    (tmp_path / 'data' / 'a.txt').write_text('')
    check_config_files(cfg, ('train_dataloader', 'val_dataloader'))
    cfg.load_from = str(tmp_path / 'ckpt.pth')
    with pytest.raises(ConfigError, match=r'^CHECKPOINT: checkpoint file'):
        check_config_files(cfg, checkpoint_key='CHECKPOINT')


def test_one_line_error_hints():
    from mmengine.registry import MODELS
    with pytest.raises(KeyError) as e:
        MODELS.build(dict(type='NoSuchNet'))
    line = one_line_error(e.value)
    assert '\n' not in line
    assert line.startswith('a `type` of the config is not registered: '
                           'NoSuchNet is not in the')
    assert line.endswith('that custom_imports imports the module that '
                         'registers it')
    assert one_line_error(ModuleNotFoundError("No module named 'my_net'")) \
        .startswith("custom_imports: ModuleNotFoundError: No module named "
                    "'my_net' -> make the module importable")
    assert one_line_error(RuntimeError('a\n  b')) == \
        'RuntimeError: a b -> see the traceback'


# ---- item 5: a distiller checkpoint tested with a classifier config -------


def _tiny_classifier_state():
    from mmengine.registry import MODELS, DefaultScope

    from ssld_mm.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    torch.manual_seed(3)
    with DefaultScope.overwrite_default_scope('ssld_mm'):
        model = MODELS.build(Config.fromfile(TINY_CLS_CONFIG).model)
    return model.state_dict()


def _build_runner(tmp_path, image_folder, config=TINY_CLS_CONFIG):
    extra = {'model.teacher_ckpt': None} if config == DISTILL else {}
    cfg = cli.load_config(
        config, {
            'work_dir': str(tmp_path / 'r'),
            'load_from': None,
            **extra,
            **{
                o.split('=')[0]: o.split('=')[1]
                for o in data_opts(image_folder)
            }
        })
    return cli.build_runner(cfg)


def test_load_test_checkpoint_strips_or_adds_student_prefix(tmp_path, image_folder):
    state = _tiny_classifier_state()
    distilled = str(tmp_path / 'distilled.pth')
    torch.save({'state_dict': {'student.' + k: v for k, v in state.items()}}, distilled)
    runner = _build_runner(tmp_path, image_folder)
    cli.load_test_checkpoint(runner, distilled)
    got = runner.model.state_dict()
    assert got.keys() == state.keys()
    for k in state:
        assert torch.equal(got[k], state[k]), k
    # the other way round: a plain checkpoint into a distiller config
    plain = str(tmp_path / 'plain.pth')
    torch.save({'state_dict': state}, plain)
    runner = _build_runner(tmp_path, image_folder, DISTILL)
    cli.load_test_checkpoint(runner, plain)
    got = runner.model.state_dict()
    for k in state:
        assert torch.equal(got['student.' + k], state[k]), k


def test_load_test_checkpoint_unwraps_ddp_saved_distiller(tmp_path, image_folder):
    """``module.student.*`` (a distiller saved from DDP): both prefixes go."""
    state = _tiny_classifier_state()
    ddp = str(tmp_path / 'ddp.pth')
    torch.save({'state_dict': {
        'module.student.' + k: v
        for k, v in state.items()
    }}, ddp)
    runner = _build_runner(tmp_path, image_folder)
    cli.load_test_checkpoint(runner, ddp)
    got = runner.model.state_dict()
    for k in state:
        assert torch.equal(got[k], state[k]), k


def test_load_test_checkpoint_names_a_checkpoint_without_weights(
        tmp_path, image_folder):
    empty = str(tmp_path / 'empty.pth')
    torch.save({'state_dict': {'meta': 'no tensors here'}}, empty)
    runner = _build_runner(tmp_path, image_folder)
    with pytest.raises(ConfigError) as e:
        cli.load_test_checkpoint(runner, empty)
    assert e.value.key == 'CHECKPOINT'
    assert e.value.problem == f'{empty}: the checkpoint holds no tensors'


def test_load_test_checkpoint_refuses_random_weights(tmp_path, image_folder):
    other = str(tmp_path / 'other.pth')
    torch.save(
        {
            'state_dict': {
                'student.backbone.conv.weight': torch.zeros(1),
                'teacher_like.w': torch.zeros(1)
            }
        }, other)
    runner = _build_runner(tmp_path, image_folder)
    with pytest.raises(ConfigError) as e:
        cli.load_test_checkpoint(runner, other)
    assert e.value.key == 'CHECKPOINT'
    assert re.search(r'lacks \d+ of \d+ weights of the model', e.value.problem)
    assert 'extract_student.py' in e.value.hint


def test_test_tool_on_distiller_checkpoint(tmp_path, image_folder):
    """The tool strips the prefix and says so (the weights it then holds are
    checked by test_load_test_checkpoint_strips_or_adds_student_prefix)."""
    state = _tiny_classifier_state()
    distilled = str(tmp_path / 'd.pth')
    torch.save({'state_dict': {'student.' + k: v for k, v in state.items()}}, distilled)
    proc = run_tool([
        TEST, TINY_CLS_CONFIG, distilled, '--work-dir',
        str(tmp_path / 'w'), '--cfg-options', *data_opts(image_folder)
    ])
    assert "testing the student (prefix 'student.' stripped)" in proc.stdout
    assert re.search(r'accuracy/top1: [\d.]+', proc.stdout)
    # a checkpoint of another model: stops, naming the argument
    other = str(tmp_path / 'other.pth')
    torch.save({'state_dict': {'foo.weight': torch.zeros(1)}}, other)
    _, err = run_failing([
        TEST, TINY_CLS_CONFIG, other, '--work-dir',
        str(tmp_path / 'w'), '--cfg-options', *data_opts(image_folder)
    ])
    assert last_line(err).startswith(f'ERROR: test.py: CHECKPOINT: {other!r} lacks ')
    assert last_line(err).endswith('-> use the config the checkpoint was '
                                   'trained with (same model type, backbone '
                                   'and head)')


# ---- item 4: the process group is torn down at the end of the tools -------


def test_teardown_distributed_destroys_the_group(tmp_path):
    import torch.distributed as dist
    cli.teardown_distributed()  # no group: nothing to do
    dist.init_process_group(
        'gloo', init_method=f'file://{tmp_path}/store', rank=0, world_size=1)
    assert dist.is_initialized()
    cli.teardown_distributed()
    assert not dist.is_initialized()


def test_other_tools_end_with_one_error_line(tmp_path, monkeypatch):
    dedup = osp.join(REPO, 'tools', 'data', 'dedup_sift.py')
    args = [
        dedup, '--pool', 'p.txt', '--val', 'v.txt', '--out', 'o.txt', '--removed',
        'r.txt', '--ratio', '1.5'
    ]
    _, err = run_failing(args, cwd=str(tmp_path))
    assert last_line(err) == ('ERROR: dedup_sift.py: ValueError: ratio must be '
                              'in (0, 1), got 1.5 -> see the traceback')
    assert 'Traceback (most recent call last)' not in err
    before_last = err.strip().splitlines()[-2]
    assert before_last.startswith('(full traceback: ')
    saved = before_last[len('(full traceback: '):].split(';')[0]
    with open(saved) as f:
        assert 'ratio must be in (0, 1)' in f.read()
    monkeypatch.setenv('SSLD_MM_VERBOSE', '1')  # the traceback on the console too
    _, err = run_failing(args, cwd=str(tmp_path))
    assert 'Traceback (most recent call last)' in err
    monkeypatch.delenv('SSLD_MM_VERBOSE')
    extract = osp.join(REPO, 'tools', 'model_converters', 'extract_student.py')
    _, err = run_failing([extract, 'missing.pth', 'out.pth'], cwd=str(tmp_path))
    assert last_line(err).startswith('ERROR: extract_student.py: ')
    assert 'missing.pth' in last_line(err)


def test_dist_train_failure_ends_with_the_error_line(tmp_path, image_folder):
    """torchrun prints its own report after the ranks fail; the launcher
    repeats the ranks' ERROR line as the very last one."""
    from conftest import free_port
    missing = str(tmp_path / 'nope.pth')
    env = dict(os.environ, PORT=str(free_port()), OMP_NUM_THREADS='1')
    proc = subprocess.run([
        'bash',
        osp.join(REPO, 'tools', 'dist_train.sh'), DISTILL, '2', '--work-dir',
        str(tmp_path / 'w'), '--cfg-options', f'model.teacher_ckpt={missing}',
        *data_opts(image_folder)
    ],
                          cwd=REPO,
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=600)
    assert proc.returncode != 0
    assert 'ChildFailedError' in proc.stderr or 'FAILED' in proc.stderr
    assert last_line(proc.stderr).startswith(
        f"ERROR: train.py: model.teacher_ckpt: checkpoint file {missing!r} "
        'does not exist')
