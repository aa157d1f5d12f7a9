"""Shared logic of ``tools/train.py`` and ``tools/test.py``.

The scripts are thin argparse wrappers; everything they do to a config lives
here so that it is importable and unit-tested.
"""
import argparse
import os
import os.path as osp
from typing import Optional

import torch
from mmengine.config import Config, ConfigDict, DictAction

_LAUNCHERS = ['none', 'pytorch', 'slurm', 'mpi']


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """Add the flags ``train.py`` and ``test.py`` share (MMPretrain's names)."""
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value pairs, e.g. '
        'model.teacher_ckpt=checkpoints/r50vd.pth '
        'train_dataloader.batch_size=64 (lists: key="[a,b]")')
    parser.add_argument(
        '--launcher', choices=_LAUNCHERS, default='none', help='job launcher')
    # torch.distributed.launch passes --local-rank (torch >= 2.0) or
    # --local_rank; torchrun sets the LOCAL_RANK environment variable.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def set_local_rank_env(args: argparse.Namespace) -> None:
    """Export ``LOCAL_RANK`` from ``--local-rank`` unless the launcher did."""
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)


def load_config(path: str) -> Config:
    """Load a config file, with a clear error for a missing path."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'config file {path!r} does not exist')
    return Config.fromfile(path)


def set_work_dir(cfg: Config, work_dir: Optional[str], config_path: str) -> None:
    """work_dir priority: CLI > value in the config > ./work_dirs/<config name>."""
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(config_path))[0])


def set_dataloader_defaults(cfg: Config,
                            pin_memory: bool = True,
                            persistent_workers: bool = True) -> None:
    """Fill dataloader options the way MMPretrain's tools do, safely on CPU.

    ``pin_memory`` only applies with CUDA; ``persistent_workers`` only with
    ``num_workers > 0`` (torch raises otherwise).
    """
    for field in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(field, None)
        if loader is None:
            continue
        defaults = ConfigDict(
            collate_fn=dict(type='default_collate'),
            pin_memory=pin_memory,
            persistent_workers=persistent_workers)
        defaults.update(loader)
        if not torch.cuda.is_available():
            defaults.pin_memory = False
        if defaults.get('num_workers', 0) == 0:
            defaults.persistent_workers = False
        cfg[field] = defaults


def setup_launcher(cfg: Config, launcher: str) -> None:
    """Record the launcher and make distributed runs work without CUDA.

    Without CUDA, a distributed run uses the gloo backend and the
    :class:`~ssld_mm.models.wrappers.CPUAwareDistributedDataParallel` wrapper,
    by itself; with CUDA the config's choices (nccl by default) are kept.
    """
    if launcher not in _LAUNCHERS:
        raise ValueError(f'launcher must be one of {_LAUNCHERS}, got {launcher!r}')
    cfg.launcher = launcher
    if launcher == 'none' or torch.cuda.is_available():
        return
    import ssld_mm.models.wrappers  # noqa: F401  (registers the wrapper)
    env_cfg = cfg.setdefault('env_cfg', ConfigDict())
    dist_cfg = env_cfg.setdefault('dist_cfg', ConfigDict())
    dist_cfg.backend = 'gloo'
    wrapper = cfg.get('model_wrapper_cfg', None)
    if wrapper is None:
        cfg.model_wrapper_cfg = ConfigDict(
            type='ssld_mm.CPUAwareDistributedDataParallel')
    elif wrapper.get('type', 'MMDistributedDataParallel') in (
            'MMDistributedDataParallel', 'mmengine.MMDistributedDataParallel'):
        wrapper.type = 'ssld_mm.CPUAwareDistributedDataParallel'
    _init_cpu_process_group(launcher, dist_cfg)


def _init_cpu_process_group(launcher: str, dist_cfg: dict) -> None:
    """Initialise gloo ourselves: MMEngine's pytorch launcher calls
    ``torch.cuda.set_device`` unconditionally, which fails without a GPU."""
    import torch.distributed as dist
    if dist.is_initialized():
        return
    if launcher == 'pytorch':
        kwargs = {k: v for k, v in dist_cfg.items() if k != 'backend'}
        if 'timeout' in kwargs and not hasattr(kwargs['timeout'], 'seconds'):
            import datetime
            kwargs['timeout'] = datetime.timedelta(seconds=kwargs['timeout'])
        dist.init_process_group(backend='gloo', **kwargs)
    else:
        from mmengine.dist import init_dist
        init_dist(launcher, **dist_cfg)


def set_amp(cfg: Config) -> None:
    """Switch the optim wrapper to MMEngine's ``AmpOptimWrapper`` (fp16, dynamic
    loss scale).

    Raises:
        RuntimeError: Without an accelerator: MMEngine's AmpOptimWrapper only
            trains on GPU/NPU/MLU/MUSA, so ``--amp`` on a CPU machine stops here
            with a clear message instead of deep inside the Runner.
    """
    from mmengine.device import get_device
    if get_device() == 'cpu':
        raise RuntimeError(
            '--amp needs a GPU (or NPU/MLU/MUSA): MMEngine\'s AmpOptimWrapper '
            'does not train on the CPU. Drop --amp on this machine.')
    optim_wrapper = cfg.optim_wrapper
    if optim_wrapper.get('type', 'OptimWrapper') not in (
            'AmpOptimWrapper', 'mmengine.AmpOptimWrapper'):
        optim_wrapper.type = 'AmpOptimWrapper'
        optim_wrapper.setdefault('loss_scale', 'dynamic')


def set_resume(cfg: Config, resume: Optional[str]) -> None:
    """``--resume`` alone: newest readable checkpoint of work_dir (see
    :func:`ssld_mm.utils.checkpoint.find_resumable_checkpoint`; none: a warning
    and a fresh run); with a path: that file, which must be complete."""
    if resume is None:
        return
    if resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    else:
        if not osp.isfile(resume):
            raise FileNotFoundError(f'--resume checkpoint {resume!r} does not exist')
        from ssld_mm.utils.checkpoint import check_checkpoint_file
        try:
            check_checkpoint_file(resume)
        except RuntimeError as e:
            raise RuntimeError(
                f'--resume {resume}: {e}. Pass another checkpoint, or --resume '
                'without a path to use the newest readable one of the work '
                'dir.') from None
        cfg.resume = True
        cfg.load_from = resume


def build_runner(cfg: Config):
    """Build the default Runner, or ``cfg.runner_type`` from the registry."""
    from mmengine.runner import Runner

    from ssld_mm.registry import RUNNERS
    if 'runner_type' not in cfg:
        return Runner.from_cfg(cfg)
    return RUNNERS.build(cfg)
