"""Dedup time per pool image as the validation set grows (goal: a 10x larger
validation set costs far less than 10x per pool image).

Validation features are extracted once (they are cached in real runs); for
each validation size an index is built over the first N validation images
and the same pool images are timed, one process: feature extraction (does not
depend on N) and matching (k-NN queries of the image and its mirror + RANSAC).
A brute-force reference (one BFMatcher k-NN per validation image, what a loop
over validation images costs) is timed on a few pool images for comparison.

Example:
    python tools/benchmark/dedup_speed.py --val-sizes 200 2000 --pool 100
"""
import argparse
import json
import sys
import time

import cv2
import numpy as np


def _feats(img, max_side, max_keypoints):
    from ssld_mm.data_selection.sift import extract_sift
    gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    s = max_side / max(gray.shape)
    if s < 1:
        gray = cv2.resize(gray, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
    return extract_sift(gray, max_keypoints)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--val-sizes', type=int, nargs='+', default=[200, 2000])
    p.add_argument(
        '--pool',
        type=int,
        default=100,
        help='pool images timed (half are copies of val images)')
    p.add_argument('--image-size', type=int, default=384)
    p.add_argument('--max-side', type=int, default=512)
    p.add_argument('--max-keypoints', type=int, default=500)
    p.add_argument(
        '--brute-force',
        type=int,
        default=5,
        help='pool images timed with the per-val-image loop')
    p.add_argument('--json', help='write the numbers here')
    args = p.parse_args(argv)
    cv2.setNumThreads(1)

    from ssld_mm.data_selection.sift import DEFAULTS, SiftIndex
    from ssld_mm.testing.synthetic_scenes import TRANSFORMS, make_scene, near_duplicate
    size = (args.image_size * 3 // 4, args.image_size)
    n_val = max(args.val_sizes)
    t0 = time.perf_counter()
    val_feats = [
        _feats(make_scene(i, i % 20, size), args.max_side, args.max_keypoints)
        for i in range(n_val)
    ]
    print(
        f'{n_val} validation images: features in '
        f'{time.perf_counter() - t0:.1f}s, '
        f'{np.mean([len(f.desc) for f in val_feats]):.0f} keypoints/image',
        flush=True)
    kinds = sorted(TRANSFORMS)
    min_val = min(args.val_sizes)
    pool_imgs = []
    for j in range(args.pool):
        if j % 2 == 0:  # copy of a validation image present at every size
            vi = (j * 7) % min_val
            pool_imgs.append((vi,
                              near_duplicate(
                                  make_scene(vi, vi % 20, size),
                                  kinds[j % len(kinds)],
                                  seed=j)))
        else:
            pool_imgs.append((-1, make_scene(10**6 + j, j % 20, size)))

    t0 = time.perf_counter()
    pool_feats = [
        _feats(img, args.max_side, args.max_keypoints) for _, img in pool_imgs
    ]
    extract_ms = 1000 * (time.perf_counter() - t0) / len(pool_imgs)

    res = dict(
        pool_images=args.pool,
        image_size=list(size),
        max_side=args.max_side,
        max_keypoints=args.max_keypoints,
        extract_ms_per_pool_image=extract_ms,
        sizes=[])
    print(f'pool feature extraction: {extract_ms:.1f} ms/image', flush=True)
    for n in args.val_sizes:
        feats = val_feats[:n]
        t0 = time.perf_counter()
        index = SiftIndex(
            np.concatenate([f.desc for f in feats]),
            np.concatenate([f.xy for f in feats]),
            np.concatenate([np.full(len(f.desc), i) for i, f in enumerate(feats)]),
            trees=DEFAULTS['flann_trees'],
            checks=DEFAULTS['flann_checks'])
        build_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        matches = [index.match(f) for f in pool_feats]
        match_ms = 1000 * (time.perf_counter() - t0) / len(pool_feats)
        hits = sum(
            1 for (vi, _), m in zip(pool_imgs, matches)
            if vi >= 0 and m.val_id == vi and m.inliers >= DEFAULTS['min_inliers'])
        false = sum(1 for (vi, _), m in zip(pool_imgs, matches)
                    if m.inliers >= DEFAULTS['min_inliers'] and m.val_id != vi)
        row = dict(
            val_images=n,
            descriptors=len(index),
            index_build_s=build_s,
            match_ms_per_pool_image=match_ms,
            total_ms_per_pool_image=match_ms + extract_ms,
            copies_found=hits,
            copies=sum(1 for vi, _ in pool_imgs if vi >= 0),
            false_matches=false)
        if args.brute_force:
            bf = cv2.BFMatcher(cv2.NORM_L2)
            t0 = time.perf_counter()
            for f in pool_feats[:args.brute_force]:
                for v in feats:
                    if len(v.desc) >= 2:
                        bf.knnMatch(f.desc, v.desc, k=2)
            row['brute_force_match_ms_per_pool_image'] = 1000 * (
                time.perf_counter() - t0) / min(args.brute_force, len(pool_feats))
        res['sizes'].append(row)
        print(json.dumps(row), flush=True)
    if len(res['sizes']) >= 2:
        a, b = res['sizes'][0], res['sizes'][-1]
        grow = b['val_images'] / a['val_images']
        res['val_growth'] = grow
        for key in ('match', 'total'):
            res[f'{key}_time_growth'] = (
                b[f'{key}_ms_per_pool_image'] / a[f'{key}_ms_per_pool_image'])
        print(f'validation set x{grow:.0f}: matching time per pool image '
              f'x{res["match_time_growth"]:.2f}, total (with extraction) '
              f'x{res["total_time_growth"]:.2f}')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(res, f, indent=2)
    return 0


if __name__ == '__main__':
    sys.exit(main())
