"""Shared logic of ``tools/train.py`` and ``tools/test.py``.

The scripts are thin argparse wrappers; everything they do to a config lives
here so that it is importable and unit-tested.
"""
import argparse
import os
import os.path as osp
import re
from typing import Optional

import torch
from mmengine.config import Config, ConfigDict, DictAction

from .config import load_config_file

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
    parser.add_argument(
        '--verbose',
        action='store_true',
        help='also print the environment, the full config and the hook order '
        'on the console (always written to the log file)')
    # torch.distributed.launch passes --local-rank (torch >= 2.0) or
    # --local_rank; torchrun sets the LOCAL_RANK environment variable.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def set_local_rank_env(args: argparse.Namespace) -> None:
    """Export ``LOCAL_RANK`` from ``--local-rank`` unless the launcher did."""
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)


def load_config(path: str, cfg_options: Optional[dict] = None) -> Config:
    """Load a config file and apply the user's ``--cfg-options`` to it.

    The overrides are applied here, first, so that every default the tools
    derive afterwards (:func:`set_dataloader_defaults`, ...) sees the user's
    values (``train_dataloader.num_workers=0`` then turns
    ``persistent_workers`` off instead of crashing).

    Args:
        path (str): The config file.
        cfg_options (dict, optional): ``--cfg-options`` (dotted keys).

    Calls :func:`ssld_mm.utils.setup_runtime` first (``ssld_mm::`` config
    paths, ssld_mm's checkpoint I/O): every tool loads its config here.

    Raises:
        FileNotFoundError: If ``path`` does not exist.
    """
    from .setup_env import setup_runtime
    setup_runtime()
    cfg = load_config_file(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def import_folders(config_path: str) -> list:
    """Folders a tool makes importable before loading ``config_path``.

    The config's folder and the current folder, so that ``custom_imports``
    finds a user's module that sits next to the config or in the folder the
    tool runs from (``tools/train.py`` and ``tools/test.py`` put them first
    on the module search path; the package itself never changes it).

    Example:
        >>> import_folders('my_project/my_distill.py')
        ['/home/me/work', '/home/me/work/my_project']
    """
    return [os.getcwd(), osp.dirname(osp.abspath(config_path))]


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
    elif wrapper.get(
            'type',
            'MMDistributedDataParallel') in ('MMDistributedDataParallel',
                                             'mmengine.MMDistributedDataParallel'):
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
    if optim_wrapper.get('type', 'OptimWrapper') not in ('AmpOptimWrapper',
                                                         'mmengine.AmpOptimWrapper'):
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


def build_runner(cfg: Config, verbose: bool = False):
    """Build :class:`~ssld_mm.engine.runner.SSLDRunner` (MMEngine's Runner
    with the environment / config dump in the log file only), or
    ``cfg.runner_type`` from the registry.

    Args:
        cfg (Config): The config.
        verbose (bool): Print the dumps on the console too
            (``log_config_to_console=True``).
    """
    from ssld_mm.engine.runner import SSLDRunner
    from ssld_mm.registry import RUNNERS
    if verbose:
        cfg.log_config_to_console = True
    if 'runner_type' not in cfg:
        return SSLDRunner.from_cfg(cfg)
    return RUNNERS.build(cfg)


def teardown_distributed() -> None:
    """Destroy the default process group if one exists (end of a tool).

    Without it, CPU (gloo) runs sometimes abort at interpreter exit after
    finishing their work (``terminate called without an active exception``,
    exit code -6): the process group's threads are torn down in an arbitrary
    order. A barrier first makes every rank finish its work before any rank
    destroys its group. Safe to call when no group exists.
    """
    import torch.distributed as dist
    if not (dist.is_available() and dist.is_initialized()):
        return
    try:
        dist.barrier()
    finally:
        dist.destroy_process_group()


def _revise_for_model(model_keys: set, ckpt_keys: set):
    """``(revise_keys, note)`` that map checkpoint keys onto the model's."""
    if model_keys & ckpt_keys:
        return [], None
    student = {k for k in ckpt_keys if k.startswith('student.')}
    if student and {k[len('student.'):] for k in student} & model_keys:
        return [(r'^student\.', '')
                ], ("the checkpoint holds a distiller's weights (student.* keys) and "
                    "the config is a plain model: testing the student (prefix "
                    "'student.' stripped). tools/model_converters/extract_student.py "
                    'writes a plain classifier checkpoint')
    if {'student.' + k for k in ckpt_keys} & model_keys:
        return [(r'^', 'student.')
                ], ('the checkpoint holds a plain classifier and the config is a '
                    "distiller: testing it as the student (prefix 'student.' added)")
    return [], None


def load_test_checkpoint(runner, checkpoint: str) -> None:
    """Load ``checkpoint`` into the runner's model, never silently random.

    - Keys that fit the model load as they are.
    - A distiller checkpoint (``student.*``) tested with a plain classifier
      config: the ``student.`` prefix is stripped, with a warning that says
      so; a plain classifier checkpoint tested with a distiller config: the
      prefix is added.
    - If any weight of the model is still missing from the checkpoint, the
      test stops with :class:`~ssld_mm.utils.tool_errors.ConfigError`
      (``CHECKPOINT``) listing some of them: evaluating would report the
      accuracy of random weights.

    Extra checkpoint keys are allowed (MMEngine warns about them).

    Args:
        runner (Runner): Built with ``load_from=None``.
        checkpoint (str): Checkpoint file (or URL).
    """
    from mmengine.model import is_model_wrapper
    from mmengine.runner import CheckpointLoader

    from ssld_mm.utils.state_dict import WRAPPER_PREFIXES, checkpoint_state_dict
    from ssld_mm.utils.tool_errors import ConfigError
    model = runner.model.module if is_model_wrapper(runner.model) else runner.model
    model_keys = {
        k
        for k in model.state_dict() if not k.endswith('num_batches_tracked')
    }
    ckpt = CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu')
    try:
        ckpt_keys = set(checkpoint_state_dict(ckpt, checkpoint))
    except (TypeError, ValueError) as e:
        raise ConfigError('CHECKPOINT', str(e),
                          'pass an MMEngine / MMPretrain checkpoint') from None
    revise, note = _revise_for_model(model_keys, ckpt_keys)
    revised = set(ckpt_keys)
    for pattern, repl in revise:
        revised = {re.sub(pattern, repl, k) for k in revised}
    missing = sorted(model_keys - revised)
    if missing:
        if any(k.startswith('student.') for k in ckpt_keys):
            hint = ('test it with the distiller config it was trained with, '
                    'or extract the student first: python tools/'
                    'model_converters/extract_student.py CHECKPOINT OUT.pth')
        else:
            hint = ('use the config the checkpoint was trained with (same '
                    'model type, backbone and head)')
        raise ConfigError(
            'CHECKPOINT', f'{checkpoint!r} lacks {len(missing)} of '
            f'{len(model_keys)} weights of the model in the config (e.g. '
            f'{", ".join(missing[:3])}); testing would evaluate random '
            'weights', hint)
    if note is not None:
        runner.logger.warning(f'{checkpoint}: {note}')
    runner.load_checkpoint(
        checkpoint,
        map_location='cpu',
        strict=False,
        revise_keys=[(f'^{re.escape(p)}', '') for p in WRAPPER_PREFIXES] + revise)
