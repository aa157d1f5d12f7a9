"""Evaluate a checkpoint (MMPretrain's command line).

Example:
    python tools/test.py configs/ssld/r50vd_mbv3.py work_dirs/x/epoch_360.pth
    tools/dist_test.sh CONFIG CKPT 8 --out results.pkl
"""
import argparse
import sys

from ssld_mm.utils import cli
from ssld_mm.utils.checkpoint import add_trust_checkpoint_arg, apply_checkpoint_trust
from ssld_mm.utils.tool_errors import check_config_files, report_failures


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test a model with ssld_mm')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', help='dump the predictions to this pickle file')
    parser.add_argument('--amp', action='store_true', help='test with mixed precision')
    parser.add_argument(
        '--test-size',
        nargs='+',
        type=int,
        metavar=('CROP', 'RESIZE'),
        help='evaluate at another resolution: center crop CROP after resizing '
        'the short edge to RESIZE (default int(CROP*256/224)), e.g. '
        '`--test-size 320` for a FixRes model, `--test-size 256 320`')
    cli.add_common_args(parser)
    add_trust_checkpoint_arg(parser)
    args = parser.parse_args()
    if args.test_size is not None and len(args.test_size) > 2:
        parser.error(f'--test-size takes CROP [RESIZE], got {args.test_size}')
    cli.set_local_rank_env(args)
    return args


def main() -> None:
    args = parse_args()
    for folder in cli.import_folders(args.config):  # for custom_imports
        if folder not in sys.path:
            sys.path.insert(0, folder)
    # --cfg-options first: every default below sees the user's values
    cfg = cli.load_config(args.config, args.cfg_options)
    cli.set_work_dir(cfg, args.work_dir, args.config)
    cfg.load_from = args.checkpoint
    if args.amp:
        cfg.test_cfg = cfg.get('test_cfg') or dict()
        cfg.test_cfg.fp16 = True
    cli.set_dataloader_defaults(cfg)
    if args.test_size is not None:
        from ssld_mm.utils.resolution import set_test_resolution
        changes = set_test_resolution(cfg, *args.test_size)
        print(f'--test-size: {", ".join(changes)}')
    apply_checkpoint_trust(cfg, args.trust_checkpoint)
    check_config_files(cfg, ('test_dataloader', ), checkpoint_key='CHECKPOINT')
    # loaded below, checked against the model (never random weights)
    cfg.load_from = None
    cli.setup_launcher(cfg, args.launcher)
    runner = cli.build_runner(cfg, verbose=args.verbose)
    cli.load_test_checkpoint(runner, args.checkpoint)
    if args.out is not None:
        if not args.out.endswith(('.pkl', '.pickle')):
            raise ValueError(f'--out must be a .pkl/.pickle file, got {args.out!r}')
        from mmengine.evaluator import DumpResults
        runner.test_evaluator.metrics.append(DumpResults(out_file_path=args.out))
    runner.test()
    cli.teardown_distributed()


if __name__ == '__main__':
    with report_failures('test.py'):
        main()
