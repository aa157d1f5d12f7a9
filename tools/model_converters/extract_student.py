"""Extract the student of an SSLD distiller checkpoint.

Example:
    python tools/model_converters/extract_student.py \
        work_dirs/r50vd_mbv3/epoch_360.pth checkpoints/mbv3_large_ssld.pth
"""
import argparse

from ssld_mm.converters.extract_student import extract_student
from ssld_mm.utils.checkpoint import add_trust_checkpoint_arg, apply_checkpoint_trust
from ssld_mm.utils.tool_errors import report_failures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help='SSLDDistiller checkpoint (student.* keys)')
    parser.add_argument('dst', help='output: plain MMPretrain classifier checkpoint')
    add_trust_checkpoint_arg(parser)
    args = parser.parse_args()
    apply_checkpoint_trust(cli_paths=args.trust_checkpoint)
    state = extract_student(args.src, args.dst)
    n_params = sum(v.numel() for v in state.values())
    print(f'wrote {args.dst}: {len(state)} tensors, {n_params / 1e6:.2f}M values')


if __name__ == '__main__':
    with report_failures('extract_student.py'):
        main()
