"""Remove pool images that are near-duplicates of validation images (SIFT).

Each pool image's SIFT descriptors (and its mirrored ones) are matched against
one FLANN index over all validation descriptors; Lowe's ratio test, then RANSAC
(affine) on the best candidate validation images; a pool image whose best match
has >= --min-inliers inliers is removed. Resumable (same command again),
parallel (--workers), validation features cached by the list's contents.

Example:
    python tools/data/dedup_sift.py --pool pool.txt --val data/val_list.txt \\
        --data-prefix data/ --out pool_kept.txt --removed pool_removed.txt \\
        --workers 16
"""
import argparse
import os
import sys
import warnings

from ssld_mm.data_selection import SIFT_DEFAULTS as D
from ssld_mm.data_selection import SiftMatchParams, dedup_pool, format_dedup_summary
from ssld_mm.utils.tool_errors import report_failures


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description='SIFT near-duplicate removal of pool images against the '
        'validation set',
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('--pool', required=True, help='pool image list')
    p.add_argument('--val', required=True, help='validation image list')
    p.add_argument('--out', required=True, help='kept pool entries')
    p.add_argument(
        '--removed',
        required=True,
        help='removed entries with '
        'the matched validation image and the score (inliers)')
    p.add_argument(
        '--data-prefix', default='', help='root of relative pool '
        'paths')
    p.add_argument(
        '--val-prefix',
        default=None,
        help='root of relative '
        'validation paths (default: --data-prefix)')
    p.add_argument(
        '--min-inliers',
        type=int,
        default=D['min_inliers'],
        help='decision threshold: RANSAC inliers of the best '
        'validation match for a duplicate')
    p.add_argument('--ratio', type=float, default=D['ratio'], help="Lowe's ratio test")
    p.add_argument(
        '--max-side',
        type=int,
        default=D['max_side'],
        help='images are downscaled to this longest side')
    p.add_argument(
        '--max-keypoints',
        type=int,
        default=D['max_keypoints'],
        help='strongest SIFT keypoints per image')
    p.add_argument(
        '--candidates',
        type=int,
        default=D['candidates'],
        help='validation images verified with RANSAC per pool image')
    p.add_argument(
        '--ransac-thresh',
        type=float,
        default=D['ransac_thresh'],
        help='RANSAC reprojection threshold (pixels, resized)')
    p.add_argument('--flann-trees', type=int, default=D['flann_trees'])
    p.add_argument('--flann-checks', type=int, default=D['flann_checks'])
    p.add_argument(
        '--no-flip',
        action='store_true',
        help='do not look for horizontally flipped copies')
    p.add_argument(
        '--drop-unreadable',
        action='store_true',
        help='leave unreadable pool images out of --out')
    p.add_argument(
        '--workers', type=int, default=os.cpu_count() or 1, help='worker processes')
    p.add_argument(
        '--chunk-size',
        type=int,
        default=1000,
        help='pool entries per chunk (unit of resuming)')
    p.add_argument('--work-dir', help='chunk results (default: <out>.work)')
    p.add_argument(
        '--val-cache',
        help='folder of cached validation features '
        '(default: the work dir)')
    p.add_argument('--unreadable-report', help='default: <out>.unreadable.txt')
    p.add_argument('--summary', help='default: <out>.summary.json')
    p.add_argument('--no-progress', action='store_true')
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    with warnings.catch_warnings():
        # the few-keypoints warning is the last line of the summary below
        warnings.filterwarnings('ignore', message='.* SIFT keypoints')
        summary = run(args)
    print(format_dedup_summary(summary))
    return 0


def run(args: argparse.Namespace) -> dict:
    """Run :func:`dedup_pool` with the command-line arguments."""
    return dedup_pool(
        args.pool,
        args.val,
        args.out,
        args.removed,
        data_prefix=args.data_prefix,
        val_prefix=args.val_prefix,
        work_dir=args.work_dir,
        val_cache=args.val_cache,
        workers=args.workers,
        chunk_size=args.chunk_size,
        match=SiftMatchParams.from_mapping(
            dict(vars(args), check_flip=not args.no_flip)),
        drop_unreadable=args.drop_unreadable,
        progress=not args.no_progress,
        unreadable_report=args.unreadable_report,
        summary_file=args.summary)


if __name__ == '__main__':
    with report_failures('dedup_sift.py'):
        sys.exit(main())
