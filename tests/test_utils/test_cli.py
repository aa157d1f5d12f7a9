"""ssld_mm.utils.cli (the logic of tools/train.py and tools/test.py), in process.

The scripts themselves run as subprocesses in tests/test_tools/; here each
function is checked on a config, and ``tools/train.py``'s ``main`` runs with
the Runner replaced by a recorder, so no training happens.
"""
import argparse
import datetime
import importlib.util
import os
import os.path as osp

import pytest
import torch
from conftest import REPO, TINY_CLS_CONFIG
from mmengine.config import Config, ConfigDict

from ssld_mm.utils import cli


def parser():
    p = argparse.ArgumentParser()
    cli.add_common_args(p)
    return p


def tiny_cfg() -> Config:
    return Config.fromfile(TINY_CLS_CONFIG)


# ----------------------------------------------------------- argument parsing
@pytest.mark.parametrize('flag', ['--local-rank', '--local_rank'])
def test_local_rank_both_spellings_export_env_unless_launcher_did(flag, monkeypatch):
    monkeypatch.delenv('LOCAL_RANK', raising=False)
    args = parser().parse_args([flag, '3'])
    assert args.local_rank == 3
    cli.set_local_rank_env(args)
    assert os.environ['LOCAL_RANK'] == '3'
    # torchrun sets LOCAL_RANK itself: the environment wins over the flag
    monkeypatch.setenv('LOCAL_RANK', '1')
    cli.set_local_rank_env(parser().parse_args([flag, '5']))
    assert os.environ['LOCAL_RANK'] == '1'


def test_common_args_defaults_and_cfg_options():
    args = parser().parse_args([])
    assert (args.work_dir, args.cfg_options, args.launcher,
            args.local_rank) == (None, None, 'none', 0)
    args = parser().parse_args([
        '--work-dir', 'w', '--launcher', 'pytorch', '--cfg-options',
        'model.teacher_ckpt=t.pth', 'train_dataloader.batch_size=64', 'a.b=[1,2]'
    ])
    assert args.work_dir == 'w' and args.launcher == 'pytorch'
    assert args.cfg_options == {
        'model.teacher_ckpt': 't.pth',
        'train_dataloader.batch_size': 64,
        'a.b': [1, 2]
    }
    with pytest.raises(SystemExit):
        parser().parse_args(['--launcher', 'bogus'])


# ------------------------------------------------------------ config helpers
def test_load_config_missing_file_names_it(tmp_path):
    missing = str(tmp_path / 'nope.py')
    with pytest.raises(
            FileNotFoundError, match=r"config file '.*nope\.py' does not exist"):
        cli.load_config(missing)
    assert cli.load_config(TINY_CLS_CONFIG).train_cfg.max_epochs == 2


def test_work_dir_priority_cli_then_config_then_default():
    cfg = tiny_cfg()
    cli.set_work_dir(cfg, None, '/x/configs/my_exp.py')
    assert cfg.work_dir == osp.join('./work_dirs', 'my_exp')
    cfg.work_dir = 'from_config'
    cli.set_work_dir(cfg, None, '/x/configs/my_exp.py')
    assert cfg.work_dir == 'from_config'
    cli.set_work_dir(cfg, 'from_cli', '/x/configs/my_exp.py')
    assert cfg.work_dir == 'from_cli'


@pytest.mark.parametrize('cuda', [False, True])
def test_dataloader_defaults_are_safe_on_cpu_and_keep_user_values(cuda, monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: cuda)
    cfg = tiny_cfg()
    cfg.train_dataloader.num_workers = 2
    cfg.val_dataloader = ConfigDict(cfg.val_dataloader, num_workers=0)
    cfg.test_dataloader = ConfigDict(
        cfg.test_dataloader,
        num_workers=2,
        persistent_workers=False,
        collate_fn=dict(type='pseudo_collate'))
    cli.set_dataloader_defaults(cfg)
    train, val, test = cfg.train_dataloader, cfg.val_dataloader, cfg.test_dataloader
    # pin_memory only with CUDA
    assert [d.pin_memory for d in (train, val, test)] == [cuda] * 3
    # persistent_workers only with workers (torch raises otherwise), and a
    # user's explicit False stays False
    assert (train.persistent_workers, val.persistent_workers,
            test.persistent_workers) == (True, False, False)
    assert train.collate_fn == dict(type='default_collate')
    assert test.collate_fn == dict(type='pseudo_collate')
    # everything else of the loader is kept
    assert train.batch_size == 4 and train.dataset.type == 'mmpretrain.CustomDataset'

    cfg = tiny_cfg()
    cfg.train_dataloader.num_workers = 2
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cli.set_dataloader_defaults(cfg, pin_memory=False, persistent_workers=False)
    assert cfg.val_dataloader is None  # --no-validate leaves no loader
    assert not cfg.train_dataloader.pin_memory
    assert not cfg.train_dataloader.persistent_workers


# ----------------------------------------------------------------- --amp
def test_amp_on_cpu_is_a_clear_error(monkeypatch):
    import mmengine.device
    monkeypatch.setattr(mmengine.device, 'get_device', lambda: 'cpu')
    cfg = tiny_cfg()
    with pytest.raises(RuntimeError, match='--amp needs a GPU'):
        cli.set_amp(cfg)
    assert 'type' not in cfg.optim_wrapper  # unchanged


def test_amp_with_accelerator_switches_to_amp_optim_wrapper(monkeypatch):
    import mmengine.device
    monkeypatch.setattr(mmengine.device, 'get_device', lambda: 'cuda')
    cfg = tiny_cfg()
    cli.set_amp(cfg)
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.loss_scale == 'dynamic'
    assert cfg.optim_wrapper.optimizer.lr == 0.05
    # a config that already uses AMP keeps its own loss scale
    cfg.optim_wrapper = ConfigDict(
        type='mmengine.AmpOptimWrapper',
        loss_scale=512.0,
        optimizer=dict(type='SGD', lr=0.1))
    cli.set_amp(cfg)
    assert cfg.optim_wrapper.type == 'mmengine.AmpOptimWrapper'
    assert cfg.optim_wrapper.loss_scale == 512.0


# -------------------------------------------------------------- --resume
def test_resume_with_a_path(tmp_path):
    cfg = tiny_cfg()
    cli.set_resume(cfg, None)
    assert cfg.resume is False and cfg.load_from is None  # the config's values
    with pytest.raises(FileNotFoundError, match=r'--resume checkpoint .*nope\.pth'):
        cli.set_resume(cfg, str(tmp_path / 'nope.pth'))
    assert cfg.resume is False
    ckpt = tmp_path / 'epoch_1.pth'
    torch.save({'state_dict': {'w': torch.zeros(1)}, 'meta': {}}, ckpt)
    cli.set_resume(cfg, str(ckpt))
    assert cfg.resume is True and cfg.load_from == str(ckpt)


# ------------------------------------------------------------- --launcher
def test_launcher_none_and_invalid():
    cfg = tiny_cfg()
    cli.setup_launcher(cfg, 'none')
    assert cfg.launcher == 'none'
    assert cfg.env_cfg.dist_cfg.backend == 'nccl' and 'model_wrapper_cfg' not in cfg
    with pytest.raises(
            ValueError, match=r"launcher must be one of .*'pytorch'.*got 'mpirun'"):
        cli.setup_launcher(cfg, 'mpirun')


def test_distributed_launcher_without_cuda_uses_gloo_and_cpu_ddp(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    calls = []
    monkeypatch.setattr(cli, '_init_cpu_process_group',
                        lambda launcher, dist_cfg: calls.append((launcher, dist_cfg)))
    cfg = tiny_cfg()
    cli.setup_launcher(cfg, 'pytorch')
    assert cfg.launcher == 'pytorch' and cfg.env_cfg.dist_cfg.backend == 'gloo'
    assert cfg.model_wrapper_cfg == dict(type='ssld_mm.CPUAwareDistributedDataParallel')
    assert calls == [('pytorch', cfg.env_cfg.dist_cfg)]
    # a config's own DDP wrapper keeps its options, only the type changes
    cfg = tiny_cfg()
    cfg.model_wrapper_cfg = dict(
        type='MMDistributedDataParallel', find_unused_parameters=True)
    cli.setup_launcher(cfg, 'slurm')
    assert cfg.model_wrapper_cfg == dict(
        type='ssld_mm.CPUAwareDistributedDataParallel', find_unused_parameters=True)
    # any other wrapper is the user's choice
    cfg = tiny_cfg()
    cfg.model_wrapper_cfg = dict(type='MMFullyShardedDataParallel')
    cli.setup_launcher(cfg, 'pytorch')
    assert cfg.model_wrapper_cfg.type == 'MMFullyShardedDataParallel'


def test_distributed_launcher_with_cuda_keeps_config(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    monkeypatch.setattr(cli, '_init_cpu_process_group',
                        lambda *a: pytest.fail('no CPU process group with CUDA'))
    cfg = tiny_cfg()
    cli.setup_launcher(cfg, 'pytorch')
    assert cfg.env_cfg.dist_cfg.backend == 'nccl' and 'model_wrapper_cfg' not in cfg


def test_cpu_process_group_converts_timeout_and_uses_gloo(monkeypatch):
    import torch.distributed as dist
    seen = {}
    monkeypatch.setattr(dist, 'is_initialized', lambda: False)
    monkeypatch.setattr(dist, 'init_process_group',
                        lambda **kwargs: seen.update(kwargs))
    cli._init_cpu_process_group('pytorch', dict(backend='nccl', timeout=90))
    assert seen == dict(backend='gloo', timeout=datetime.timedelta(seconds=90))
    # already initialised (e.g. a second Runner): nothing happens
    monkeypatch.setattr(dist, 'is_initialized', lambda: True)
    seen.clear()
    cli._init_cpu_process_group('pytorch', dict(backend='gloo'))
    assert seen == {}


# ----------------------------------------------------------------- runner
def test_build_runner_default_and_registered_runner_type(tmp_path, monkeypatch):
    from mmengine.runner import Runner

    from ssld_mm.registry import RUNNERS
    made = []
    monkeypatch.setattr(
        Runner, 'from_cfg',
        classmethod(lambda cls, cfg: made.append(
            ('default', cfg.work_dir)) or 'runner'))
    cfg = tiny_cfg()
    cfg.work_dir = str(tmp_path)
    assert cli.build_runner(cfg) == 'runner'

    class RecordingRunner:

        @classmethod
        def from_cfg(cls, cfg):
            made.append(('custom', cfg.work_dir))
            return 'custom-runner'

    RUNNERS.register_module(name='SSLDTestRecordingRunner', module=RecordingRunner)
    try:
        cfg.runner_type = 'SSLDTestRecordingRunner'
        assert cli.build_runner(cfg) == 'custom-runner'
    finally:
        RUNNERS._module_dict.pop('SSLDTestRecordingRunner')
    assert made == [('default', str(tmp_path)), ('custom', str(tmp_path))]


# ------------------------------------------------- tools/train.py's main()
def load_train_script():
    spec = importlib.util.spec_from_file_location('ssld_mm_train_script',
                                                  osp.join(REPO, 'tools', 'train.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_train_main(monkeypatch, argv):
    """tools/train.py's main() with ``argv``; returns the config it would train."""
    script = load_train_script()
    captured = []

    class NoTraining:

        def train(self):
            pass

    def build(cfg, *args, **kwargs):
        captured.append(cfg)
        return NoTraining()

    monkeypatch.setattr(cli, 'build_runner', build)
    monkeypatch.setattr('sys.argv', ['train.py', *argv])
    script.main()
    assert len(captured) == 1
    return captured[0]


def test_train_main_flags_reach_the_config(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    cfg = run_train_main(monkeypatch, [
        TINY_CLS_CONFIG, '--work-dir',
        str(tmp_path), '--no-validate', '--cfg-options', 'train_cfg.max_epochs=7',
        'train_dataloader.batch_size=2'
    ])
    assert cfg.work_dir == str(tmp_path) and cfg.launcher == 'none'
    assert cfg.train_cfg.max_epochs == 7 and cfg.train_dataloader.batch_size == 2
    assert cfg.val_dataloader is None and cfg.val_cfg is None
    assert cfg.val_evaluator is None
    assert cfg.train_dataloader.pin_memory is False


def test_train_main_user_cfg_options_win_over_dataloader_defaults(
        tmp_path, monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    cfg = run_train_main(monkeypatch, [
        TINY_CLS_CONFIG, '--work-dir',
        str(tmp_path), '--cfg-options', 'train_dataloader.num_workers=2',
        'val_dataloader.persistent_workers=True'
    ])
    # workers set on the command line get persistent workers by default ...
    assert cfg.train_dataloader.persistent_workers is True
    # ... but never without workers (torch would raise), whoever asked
    assert cfg.val_dataloader.num_workers == 0
    assert cfg.val_dataloader.persistent_workers is False


def test_train_main_auto_scale_lr_scales_by_batch_size(tmp_path, monkeypatch):
    cfg_file = tmp_path / 'scaled.py'
    cfg_file.write_text(f'_base_ = [{TINY_CLS_CONFIG!r}]\n'
                        'auto_scale_lr = dict(base_batch_size=16)\n')
    plain = run_train_main(monkeypatch, [str(cfg_file), '--work-dir', str(tmp_path)])
    assert not plain.auto_scale_lr.get('enable', False)
    cfg = run_train_main(
        monkeypatch, [str(cfg_file), '--work-dir',
                      str(tmp_path), '--auto-scale-lr'])
    assert cfg.auto_scale_lr.enable is True
    # what the Runner does with it: lr 0.05 * (1 process x batch 4) / 16
    from mmengine.runner import Runner

    from ssld_mm.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    runner = Runner.from_cfg(cfg)
    optim_wrapper = runner.build_optim_wrapper(cfg.optim_wrapper)
    runner.scale_lr(optim_wrapper, runner.auto_scale_lr)
    assert optim_wrapper.param_groups[0]['lr'] == pytest.approx(0.05 * 4 / 16)


def test_train_main_amp_on_cpu_stops_before_building(tmp_path, monkeypatch):
    import mmengine.device
    monkeypatch.setattr(mmengine.device, 'get_device', lambda: 'cpu')
    with pytest.raises(RuntimeError, match='--amp needs a GPU'):
        run_train_main(monkeypatch,
                       [TINY_CLS_CONFIG, '--work-dir',
                        str(tmp_path), '--amp'])
