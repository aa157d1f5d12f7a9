"""Select the teacher's top-k pool images per class (SSLD data selection).

Every pool image votes for the teacher's argmax class with its softmax
probability; per class the k best are kept (ties: earlier pool line first) and
written as a PaddleClas list after the --labeled entries: unlabeled lines
``path`` (``path teacher_label`` with --pseudo-labels).
Resumable (same command again), shardable (--shard i/n or a launcher).

Examples:
    python tools/data/select_topk.py teacher.py teacher.pth \\
        --pool pool.txt --data-prefix data/ --k 1300 --out selected.txt \\
        --labeled data/train_list.txt --soft-labels selected_soft.jsonl
    # 8 GPUs on one node (the last rank to finish writes the outputs):
    tools/data/dist_select_topk.sh teacher.py teacher.pth 8 \\
        --pool pool.txt --k 1300 --out selected.txt
    # or independent jobs sharing the work dir:
    python tools/data/select_topk.py ... --shard 3/8
"""
import argparse
import sys

from mmengine.config import DictAction

from ssld_mm.data_selection import format_summary, select_topk, shard_and_device
from ssld_mm.data_selection.teacher import load_teacher_config
from ssld_mm.utils import setup_runtime
from ssld_mm.utils.checkpoint import add_trust_checkpoint_arg, apply_checkpoint_trust
from ssld_mm.utils.tool_errors import report_failures


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description='Teacher top-k per class selection from an unlabeled pool',
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('config', help='teacher config (MMPretrain classifier)')
    p.add_argument('checkpoint', help='teacher checkpoint')
    p.add_argument('--pool', required=True, help='pool image list')
    p.add_argument('--k', type=int, required=True, help='images per class')
    p.add_argument('--out', required=True, help='output list')
    p.add_argument('--labeled', help='labeled training list to merge with')
    p.add_argument(
        '--labeled-prefix',
        default=None,
        help='root of relative --labeled paths (default: '
        '--data-prefix); when it differs they are rewritten so '
        'that every path of --out starts from --data-prefix')
    p.add_argument(
        '--soft-labels',
        help='also write top-N probabilities of '
        'each selected image (JSON lines)')
    p.add_argument(
        '--pseudo-labels',
        action='store_true',
        help='write "path teacher_label" for selected images '
        '(default: "path", i.e. unlabeled for ImageListDataset)')
    p.add_argument(
        '--soft-topn',
        type=int,
        default=5,
        help='probabilities per image in --soft-labels')
    p.add_argument('--data-prefix', default='', help='root of relative pool paths')
    p.add_argument(
        '--work-dir', help='chunk results for resuming '
        '(default: <out>.work)')
    p.add_argument(
        '--chunk-size',
        type=int,
        default=10000,
        help='pool entries per chunk (unit of resume and sharding)')
    p.add_argument('--batch-size', type=int, default=64)
    p.add_argument(
        '--num-workers',
        type=int,
        default=4,
        help='DataLoader workers (decode + test pipeline)')
    p.add_argument(
        '--device',
        help='default: cuda (cuda:LOCAL_RANK with a '
        'launcher) if available, else cpu')
    p.add_argument(
        '--fp16',
        action='store_true',
        help='autocast the teacher (fp16 on CUDA, bf16 on CPU)')
    p.add_argument(
        '--shard',
        default=None,
        help='"i/n": run chunks c with '
        'c %% n == i (shards share --work-dir)')
    p.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm'],
        default='none',
        help='take the shard from the launcher\'s '
        'rank / world size')
    p.add_argument(
        '--local_rank', '--local-rank', type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument(
        '--skipped-report', help='unreadable images '
        '(default: <out>.skipped.txt)')
    p.add_argument(
        '--summary', help='summary JSON (default: '
        '<out>.summary.json)')
    p.add_argument('--no-progress', action='store_true')
    p.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override teacher config settings, key=value')
    add_trust_checkpoint_arg(p)
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    setup_runtime()  # ssld_mm:: config paths, MMEngine checkpoint I/O
    shard, device = shard_and_device(args.shard, args.launcher, args.device)
    cfg = load_teacher_config(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    apply_checkpoint_trust(cfg, args.trust_checkpoint)
    result = select_topk(
        cfg,
        args.checkpoint,
        args.pool,
        args.k,
        args.out,
        labeled=args.labeled,
        soft_labels=args.soft_labels,
        soft_topn=args.soft_topn,
        data_prefix=args.data_prefix,
        work_dir=args.work_dir,
        chunk_size=args.chunk_size,
        batch_size=args.batch_size,
        num_workers=args.num_workers,
        device=device,
        shard=shard,
        fp16=args.fp16,
        # with a launcher only rank 0 draws a bar (its rate x ranks = total)
        progress=not args.no_progress and shard[0] == 0,
        skipped_report=args.skipped_report,
        summary_file=args.summary,
        pseudo_labels=args.pseudo_labels,
        labeled_prefix=args.labeled_prefix)
    if result['merged']:
        print(format_summary(result['summary']))
    return 0


if __name__ == '__main__':
    with report_failures('select_topk.py'):
        sys.exit(main())
