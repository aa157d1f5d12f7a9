"""`make demo`: SSLD on Fashion-MNIST, end to end, on the CPU.

Trains (through tools/train.py and configs/demo/) a ResNet-18 teacher on a
labeled subset L of Fashion-MNIST, a LeNet-5 student on L with labels, the
student distilled from the teacher on L without labels, and the student
distilled on L plus the unlabeled rest U then fine-tuned on L; prints the test
top-1 table and writes work_dirs/demo/results.json and test_accuracy.png.

Example:
    python tools/demo/run_demo.py
    FASHION_MNIST_DIR=~/fmnist python tools/demo/run_demo.py --seeds 0 1
"""
import argparse
import sys

from demo_data import DataNotFoundError
from demo_pipeline import PROFILES, JobFailed
from make_demo import DemoOptions, run_demo


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--work-dir',
        default='work_dirs/demo',
        help='output folder (default: %(default)s)')
    parser.add_argument(
        '--data-root',
        default='data/fashion_mnist',
        help='unpacked data and L/U index files '
        '(default: %(default)s)')
    parser.add_argument(
        '--source',
        default=None,
        help='folder with the standard Fashion-MNIST files '
        '(default: $FASHION_MNIST_DIR, else '
        '/usr/share/datasets/fashion-mnist)')
    parser.add_argument(
        '--profile',
        choices=sorted(PROFILES),
        default='full',
        help="'smoke': a tiny pipeline check (default: full)")
    parser.add_argument(
        '--seeds',
        type=int,
        nargs='+',
        default=None,
        help='student seeds (default: 0 1 2)')
    parser.add_argument(
        '--jobs',
        type=int,
        default=2,
        help='runs trained at the same time (default: 2)')
    parser.add_argument(
        '--threads',
        type=int,
        default=None,
        help='torch threads per run (default: CPUs / jobs)')
    parser.add_argument(
        '--distill-loss',
        default=None,
        help='loss type of the distillation runs instead of '
        "the configs' SymmetricKLLoss, e.g. JSDivLoss")
    parser.add_argument(
        '--no-fast-teacher',
        action='store_true',
        help='keep the frozen teacher in float32 (default: '
        'bf16/fp16 autocast + channels-last where supported)')
    parser.add_argument(
        '--no-stored',
        action='store_true',
        help='skip student_ssld_unlabeled_stored (the L + U '
        'distillation from a stored teacher)')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        run_demo(
            DemoOptions(
                work_root=args.work_dir,
                data_root=args.data_root,
                profile=args.profile,
                seeds=args.seeds,
                max_parallel=args.jobs,
                threads=args.threads,
                source=args.source,
                distill_loss=args.distill_loss,
                fast_teacher=not args.no_fast_teacher,
                stored=not args.no_stored))
    except DataNotFoundError as e:
        print(f'[demo] error: {e}', file=sys.stderr)
        return 2
    except JobFailed as e:
        print(f'[demo] error: {e}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
