"""Prepare Fashion-MNIST for the demo (idempotent; downloads nothing).

Unpacks the four standard files from ``$FASHION_MNIST_DIR`` or
``/usr/share/datasets/fashion-mnist`` (Debian's ``dataset-fashion-mnist``)
into ``data/fashion_mnist/`` and writes the labeled subset L / unlabeled pool
U index files there.

Example:
    python tools/demo/prepare_data.py
    FASHION_MNIST_DIR=~/datasets/fmnist python tools/demo/prepare_data.py \
        --num-labeled 1000 --num-unlabeled 20000
"""
import argparse
import sys

from demo_data import (DEFAULT_DATA_ROOT, DataNotFoundError, prepare_fashion_mnist,
                       write_split)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--data-root',
        default=DEFAULT_DATA_ROOT,
        help='output folder (default: %(default)s)')
    parser.add_argument(
        '--source',
        default=None,
        help='folder with the standard files (default: '
        '$FASHION_MNIST_DIR, else /usr/share/datasets/fashion-mnist)')
    parser.add_argument(
        '--num-labeled',
        type=int,
        default=2000,
        help='size of the labeled subset L (default: %(default)s)')
    parser.add_argument(
        '--num-unlabeled',
        type=int,
        default=-1,
        help='size of the unlabeled pool U; -1: all other '
        'training images (default: %(default)s)')
    parser.add_argument('--seed', type=int, default=0, help='split seed')
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    try:
        written = prepare_fashion_mnist(args.data_root, args.source)
    except DataNotFoundError as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    state = f'unpacked {len(written)} file(s)' if written else 'already unpacked'
    labeled, unlabeled = write_split(
        args.data_root, args.num_labeled, args.num_unlabeled, seed=args.seed)
    print(f'Fashion-MNIST in {args.data_root} ({state}); L: {labeled} '
          f'({args.num_labeled} images), U: {unlabeled}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
