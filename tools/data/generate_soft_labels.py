"""Generate a soft-label store: the teacher's top-K on M random views per image.

Stored-teacher distillation (FKD-style): the views are drawn with the student's
own RandomResizedCrop/RandomFlip (from --train-config), seeded per (image,
view), and the teacher's top-K probabilities are stored once; students then
train from the store with no teacher forward (docs/soft_label_store.md).
Resumable (same command again), shardable (--shard i/n or a launcher).

Examples:
    python tools/data/generate_soft_labels.py \\
        configs/paddleclas/resnet50_vd.py r50vd_ssld.pth \\
        --train-config configs/ssld/r50vd_mbv3.py --list data/train_list.txt \\
        --data-prefix data/ --views 10 --topk 10 --out work_dirs/store \\
        --teacher-autocast bfloat16 --channels-last
    # 8 GPUs on one node (the last rank to finish writes index.json):
    tools/data/dist_generate_soft_labels.sh TEACHER_CFG TEACHER_CKPT 8 \\
        --train-config ... --list ... --views 10 --topk 10 --out work_dirs/store
"""
import argparse
import sys

from mmengine.config import DictAction

from ssld_mm.data_selection import shard_and_device
from ssld_mm.data_selection.soft_labels import generate_soft_labels
from ssld_mm.data_selection.teacher import load_teacher_config
from ssld_mm.utils import setup_runtime
from ssld_mm.utils.tool_errors import report_failures


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description='Store the teacher\'s top-K soft labels of M random views '
        'per image (stored-teacher distillation)',
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('config', help='teacher config (MMPretrain classifier)')
    p.add_argument('checkpoint', help='teacher checkpoint')
    p.add_argument(
        '--train-config',
        required=True,
        help='student training config: its train pipeline\'s '
        'RandomResizedCrop/RandomFlip define the views')
    p.add_argument('--list', required=True, help='training image list')
    p.add_argument('--data-prefix', default='', help='root of relative image paths')
    p.add_argument('--views', type=int, required=True, help='M: views per image')
    p.add_argument(
        '--topk',
        type=int,
        required=True,
        help='K: probabilities kept per view (= number of classes '
        'for an exact distribution)')
    p.add_argument('--out', required=True, help='store directory')
    p.add_argument('--seed', type=int, default=0, help='view seed')
    p.add_argument(
        '--samples-per-shard',
        type=int,
        default=10000,
        help='images per store shard (unit of resume/sharding)')
    p.add_argument(
        '--batch-size', type=int, default=32, help='images per teacher batch (x views)')
    p.add_argument(
        '--num-workers',
        type=int,
        default=4,
        help='DataLoader workers (decode + crops)')
    p.add_argument(
        '--device',
        help='default: cuda (cuda:LOCAL_RANK with a '
        'launcher) if available, else cpu')
    p.add_argument(
        '--teacher-autocast',
        choices=['float16', 'bfloat16'],
        help='run the teacher under torch.autocast')
    p.add_argument(
        '--channels-last',
        action='store_true',
        help='run the teacher in channels-last memory format')
    p.add_argument(
        '--shard',
        default=None,
        help='"i/n": run store shards s '
        'with s %% n == i (processes share --out)')
    p.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm'],
        default='none',
        help='take the shard from the launcher\'s '
        'rank / world size')
    p.add_argument(
        '--local_rank', '--local-rank', type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument('--no-progress', action='store_true')
    p.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override teacher config settings, key=value')
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    setup_runtime()  # ssld_mm:: config paths, MMEngine checkpoint I/O
    shard, device = shard_and_device(args.shard, args.launcher, args.device)
    cfg = args.config  # a path is recorded in index.json
    if args.cfg_options:
        cfg = load_teacher_config(args.config)
        cfg.merge_from_dict(args.cfg_options)
    generate_soft_labels(
        cfg,
        args.checkpoint,
        args.train_config,
        args.list,
        args.out,
        views=args.views,
        topk=args.topk,
        seed=args.seed,
        data_prefix=args.data_prefix,
        samples_per_shard=args.samples_per_shard,
        batch_size=args.batch_size,
        num_workers=args.num_workers,
        device=device,
        shard=shard,
        teacher_autocast=args.teacher_autocast,
        channels_last=args.channels_last,
        progress=not args.no_progress and shard[0] == 0)
    return 0


if __name__ == '__main__':
    with report_failures('generate_soft_labels.py'):
        sys.exit(main())
