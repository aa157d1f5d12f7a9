"""Write the COCO toy detection set and, optionally, a config that runs a
detection config on it (CPU smoke runs, docs/detection.md).

Fashion-MNIST items pasted on noisy canvases with exact boxes
(``ssld_mm.testing.make_coco_toy``; synthetic shapes when Fashion-MNIST is
not installed). Nothing is downloaded.

Examples:
    python tools/data/make_coco_toy.py data/coco_toy --num-train 64 \\
        --num-val 32
    python tools/data/make_coco_toy.py data/coco_toy --num-train 64 \\
        --num-val 32 \\
        --config configs/detection/faster-rcnn_r50vd-ssld_fpn_1x_coco.py \\
        --out work_dirs/coco_toy/faster.py --max-epochs 12 --checkpoint none
    python tools/train.py work_dirs/coco_toy/faster.py
"""
import argparse

from ssld_mm.testing import make_coco_toy, write_coco_toy_config
from ssld_mm.utils import setup_runtime


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('root', help='output folder (data_root)')
    parser.add_argument('--num-train', type=int, default=64)
    parser.add_argument('--num-val', type=int, default=32)
    parser.add_argument(
        '--image-size', type=int, default=160, help='side of the square canvases')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--config', help='detection config to adapt')
    parser.add_argument('--out', help='config file to write (with --config)')
    parser.add_argument('--max-epochs', type=int, default=12)
    parser.add_argument(
        '--val-interval',
        type=int,
        help='epochs between validations (default: at the end)')
    parser.add_argument('--batch-size', type=int, default=2)
    parser.add_argument('--lr', type=float, help="base lr (config's default)")
    parser.add_argument(
        '--checkpoint',
        help="backbone checkpoint; 'none' for MMDetection's random init; "
        "the config's by default")
    parser.add_argument(
        '--score-thr', type=float, help="test score threshold (config's by default)")
    args = parser.parse_args()
    if bool(args.config) != bool(args.out):
        parser.error('--config and --out go together')
    return args


def main() -> None:
    args = parse_args()
    info = make_coco_toy(
        args.root,
        num_train=args.num_train,
        num_val=args.num_val,
        image_size=args.image_size,
        seed=args.seed)
    print(f'{info["root"]}: {args.num_train} train images '
          f'({info["num_objects"]["train2017"]} objects), {args.num_val} val '
          f'images ({info["num_objects"]["val2017"]} objects), classes '
          f'{info["classes"]}, from {info["source"]}')
    if args.config:
        setup_runtime()  # the config may say _base_ = ['ssld_mm::...']
        kwargs = dict(
            scale=(args.image_size, args.image_size),
            batch_size=args.batch_size,
            max_epochs=args.max_epochs,
            lr=args.lr,
            score_thr=args.score_thr,
            val_interval=args.val_interval)
        if args.checkpoint is not None:
            kwargs['checkpoint'] = (None if args.checkpoint.lower() == 'none' else
                                    args.checkpoint)
        print(write_coco_toy_config(args.config, args.out, info, **kwargs))


if __name__ == '__main__':
    main()
