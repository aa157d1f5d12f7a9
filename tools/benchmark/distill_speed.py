"""Training speed of an SSLD distiller: student step, teacher forward, both.

Times, on one synthetic batch, (a) the student's training step alone, (b) the
teacher's inference forward alone and (c) the distiller's training step, and
prints images/s for each and the ratio c / (a + b) (1.0: the distiller adds
nothing beyond the two networks' own work).

Example:
    python tools/benchmark/distill_speed.py configs/ssld/r50vd_mbv3.py --batch-size 8
    python tools/benchmark/distill_speed.py configs/demo/ssld_lenet5_fmnist_unlabeled.py
    python tools/benchmark/distill_speed.py configs/ssld/r50vd_mbv3.py \
        --device cuda --batch-size 64 --amp --channels-last
"""
import argparse
import json
import os

from mmengine.config import DictAction

from ssld_mm.demo.distill_speed import benchmark, format_report
from ssld_mm.utils import cli


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='config whose model is an SSLDDistiller')
    parser.add_argument('--batch-size', type=int, default=None,
                        help='default: the config train batch size')
    parser.add_argument('--shape', type=int, nargs=3, metavar=('C', 'H', 'W'),
                        help='input shape (default: from the config)')
    parser.add_argument('--device', default=None,
                        help='cpu, cuda, cuda:1 ... (default: cuda if available)')
    parser.add_argument('--amp', action='store_true',
                        help='autocast for student and distiller steps '
                        '(float16 + loss scaling on CUDA, bfloat16 on CPU); '
                        'the teacher runs under the same autocast')
    parser.add_argument('--amp-dtype', choices=['float16', 'bfloat16'],
                        default=None, help='autocast dtype of --amp')
    parser.add_argument('--channels-last', action='store_true',
                        help='student, teacher and inputs in channels-last')
    parser.add_argument('--teacher-autocast', choices=['float16', 'bfloat16'],
                        default=None,
                        help="the distiller's teacher_autocast option")
    parser.add_argument('--threads', type=int, default=None,
                        help='torch CPU threads (default: torch default)')
    parser.add_argument('--rounds', type=int, default=5,
                        help='interleaved measurement rounds (default: 5)')
    parser.add_argument('--iters', type=int, default=4,
                        help='steps of each kind per round (default: 4)')
    parser.add_argument('--warmup', type=int, default=2,
                        help='untimed steps of each kind (default: 2)')
    parser.add_argument('--out', default=None, help='also write the result as JSON')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, key=value')
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.threads is not None:
        import torch
        torch.set_num_threads(args.threads)
    cfg = cli.load_config(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    result = benchmark(cfg, batch_size=args.batch_size, shape=args.shape,
                       device=args.device, amp=args.amp, amp_dtype=args.amp_dtype,
                       channels_last=args.channels_last,
                       teacher_autocast=args.teacher_autocast,
                       rounds=args.rounds, iters=args.iters, warmup=args.warmup)
    print(format_report(result, args.config))
    if args.out:
        if os.path.dirname(args.out):
            os.makedirs(os.path.dirname(args.out), exist_ok=True)
        with open(args.out, 'w', encoding='utf-8') as f:
            json.dump(dict(config=args.config, **result), f, indent=2)


if __name__ == '__main__':
    main()
