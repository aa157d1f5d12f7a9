"""Train a model (MMPretrain's command line, plus CPU-safe distributed runs).

Example:
    python tools/train.py configs/ssld/r50vd_mbv3.py --work-dir work_dirs/x
    python tools/train.py CONFIG --resume            # latest ckpt of work_dir
    python tools/train.py CONFIG --resume PATH.pth --amp
    tools/dist_train.sh CONFIG 8 --cfg-options model.teacher_ckpt=ckpt.pth
"""
import argparse
import sys

from ssld_mm.engine.hooks.finite_loss_hook import add_finite_loss_hook
from ssld_mm.utils import cli
from ssld_mm.utils.checkpoint import add_trust_checkpoint_arg, apply_checkpoint_trust
from ssld_mm.utils.tool_errors import check_config_files, report_failures


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a model with ssld_mm')
    parser.add_argument('config', help='train config file path')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from the given checkpoint, or, with no value, from the '
        'latest checkpoint in the work directory')
    parser.add_argument('--amp', action='store_true', help='automatic mixed precision')
    parser.add_argument('--no-validate', action='store_true', help='skip validation')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the lr by actual / base batch size (cfg.auto_scale_lr)')
    parser.add_argument('--no-pin-memory', action='store_true')
    parser.add_argument('--no-persistent-workers', action='store_true')
    cli.add_common_args(parser)
    add_trust_checkpoint_arg(parser)
    args = parser.parse_args()
    cli.set_local_rank_env(args)
    return args


def main() -> None:
    args = parse_args()
    for folder in cli.import_folders(args.config):  # for custom_imports
        if folder not in sys.path:
            sys.path.insert(0, folder)
    # --cfg-options first: every default below sees the user's values
    cfg = cli.load_config(args.config, args.cfg_options)
    if args.no_validate:
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cli.set_work_dir(cfg, args.work_dir, args.config)
    if args.amp:
        cli.set_amp(cfg)
    cli.set_resume(cfg, args.resume)
    if args.auto_scale_lr:
        cfg.auto_scale_lr.enable = True
    cli.set_dataloader_defaults(
        cfg,
        pin_memory=not args.no_pin_memory,
        persistent_workers=not args.no_persistent_workers)
    apply_checkpoint_trust(cfg, args.trust_checkpoint)
    add_finite_loss_hook(cfg)  # MMDetection configs too
    check_config_files(
        cfg, ('train_dataloader', 'val_dataloader'),
        checkpoint_key='--resume' if cfg.get('resume') else None)
    cli.setup_launcher(cfg, args.launcher)
    runner = cli.build_runner(cfg, verbose=args.verbose)
    runner.train()
    cli.teardown_distributed()


if __name__ == '__main__':
    with report_failures('train.py'):
        main()
