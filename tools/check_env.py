"""Check the installed stack: mmcv ops on CPU, mmdet and mmpretrain import.

Run by ``make setup`` at its end; exits non-zero naming what is broken.
"""
import argparse
import sys


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--quiet', action='store_true')
    args = parser.parse_args()
    try:
        from ssld_mm.utils.env import check_stack
        report = check_stack()
    except Exception as exc:  # noqa: BLE001 - report whatever broke
        print(f'[check_env] FAILED: {type(exc).__name__}: {exc}', file=sys.stderr)
        return 1
    if not args.quiet:
        for key, value in report.items():
            print(f'[check_env] {key}: {value}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
