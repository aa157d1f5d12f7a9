"""Convert PaddleClas .pdparams weights to an MMPretrain (or MMDetection) checkpoint.

Examples:
    python tools/model_converters/paddle_to_mm.py \
        ResNet50_vd_ssld_pretrained.pdparams checkpoints/resnet50_vd_ssld.pth \
        --arch ResNet50_vd
    python tools/test.py configs/paddleclas/resnet50_vd.py \
        checkpoints/resnet50_vd_ssld.pth

    # MMDetection's ResNetV1d backbone (e.g. for its DCN variants)
    python tools/model_converters/paddle_to_mm.py \
        ResNet50_vd_ssld_pretrained.pdparams checkpoints/r50vd_ssld_mmdet.pth \
        --arch ResNet50_vd --format mmdet

Paddle is not needed. Both PaddleClas naming generations (the current
"legendary" one and the 2.0 dygraph one) are recognised from the keys.
"""
import argparse
import sys

from ssld_mm.converters import PADDLE_ARCHS, PaddleConversionError, convert_pdparams
from ssld_mm.utils.tool_errors import report_failures


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog='supported archs: ' + ', '.join(PADDLE_ARCHS))
    parser.add_argument('src', help='PaddleClas .pdparams file')
    parser.add_argument('dst', help='output .pth checkpoint')
    parser.add_argument(
        '--arch',
        required=True,
        help='PaddleClas arch name, e.g. ResNet50_vd, MobileNetV3_large_x1_0 '
        '(ResNet50_vd_ssld etc. also accepted)')
    parser.add_argument(
        '--format',
        default='mmpretrain',
        choices=['mmpretrain', 'mmdet'],
        help='mmpretrain: ImageClassifier state dict for configs/paddleclas/'
        '<arch>.py (default); mmdet: backbone-only state dict of '
        "MMDetection's ResNetV1d (ResNet50/101/152_vd)")
    parser.add_argument(
        '--src-prefix',
        default=None,
        help="use only keys with this prefix, e.g. 'Student.' for a PaddleClas "
        'distillation checkpoint')
    parser.add_argument(
        '--num-classes',
        type=int,
        default=None,
        help='classes of the fc layer (default: read from the weights)')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    try:
        checkpoint = convert_pdparams(
            args.src,
            args.dst,
            args.arch,
            fmt=args.format,
            src_prefix=args.src_prefix,
            num_classes=args.num_classes)
    except (PaddleConversionError, ValueError, FileNotFoundError) as e:
        print(f'error: {e}', file=sys.stderr)
        print(f'nothing was written to {args.dst}', file=sys.stderr)
        sys.exit(1)
    meta = checkpoint['meta']
    state = checkpoint['state_dict']
    n_values = sum(v.numel() for v in state.values())
    print(f'{meta["arch"]} ({meta["naming"]} Paddle names) -> {args.dst}: '
          f'{len(state)} tensors, {n_values / 1e6:.2f}M values, '
          f'format {meta["format"]}')
    if meta['format'] == 'mmpretrain':
        print(f'config: {meta["config"]}')
    else:
        depth = meta['mmdet_backbone']['depth']
        print(f"backbone=dict(type='mmdet.ResNetV1d', depth={depth}, "
              f"init_cfg=dict(type='Pretrained', checkpoint='{args.dst}'))")


if __name__ == '__main__':
    with report_failures('paddle_to_mm.py'):
        main()
