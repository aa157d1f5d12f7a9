"""Throughput of top-k selection against the teacher's pure inference.

Measures, on this machine, with the same teacher, batch size and precision:

* pure inference: data preprocessor + forward + softmax + top-N on tensors that
  already sit on the device (no decoding, no files): the upper bound;
* decode only: the selection's DataLoader (workers, test pipeline) without a
  model: what the CPUs can feed;
* selection: ``select_topk`` over a pool of JPEG files (steady-state rate of
  its main loop, and end to end including model build and merge).

The goal is selection >= 0.9 x pure inference. The pool is written once from
synthetic ImageNet-sized scenes (unique scenes copied to many files).

Example:
    python tools/benchmark/select_speed.py --num-images 4000 \\
        --batch-size 128 --num-workers 14 --json out.json
"""
import argparse
import json
import os
import os.path as osp
import shutil
import sys
import tempfile
import time

import cv2
import numpy as np
import torch


def default_config() -> str:
    import mmpretrain
    return osp.join(
        osp.dirname(mmpretrain.__file__), '.mim', 'configs', 'resnet',
        'resnet50_8xb32_in1k.py')


def make_pool(root: str, num_images: int, unique: int, size=(375, 500)) -> str:
    from ssld_mm.testing.synthetic_scenes import make_scene
    os.makedirs(osp.join(root, 'img'), exist_ok=True)
    blobs = []
    for i in range(min(unique, num_images)):
        ok, buf = cv2.imencode('.jpg', make_scene(i, i % 10, size),
                               [cv2.IMWRITE_JPEG_QUALITY, 90])
        blobs.append(buf.tobytes())
    lines = []
    for i in range(num_images):
        name = f'img/{i:07d}.jpg'
        with open(osp.join(root, name), 'wb') as f:
            f.write(blobs[i % len(blobs)])
        lines.append(name)
    pool = osp.join(root, 'pool.txt')
    with open(pool, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return pool


def random_checkpoint(cfg, path: str) -> str:
    from mmengine.registry import MODELS, DefaultScope

    from ssld_mm.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    model_cfg = cfg.model.copy()
    if model_cfg.get('data_preprocessor') is None and cfg.get('data_preprocessor'):
        model_cfg['data_preprocessor'] = cfg.data_preprocessor
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope') or 'mmpretrain'):
        model = MODELS.build(model_cfg)
    torch.save({'state_dict': model.state_dict()}, path)
    return path


def sync(device: str) -> None:
    if device.startswith('cuda'):
        torch.cuda.synchronize()


def pure_inference(cfg,
                   ckpt,
                   device,
                   batch_size,
                   num_images,
                   fp16,
                   sample_path,
                   soft_topn=5) -> float:
    from ssld_mm.data_selection.teacher import (build_pipeline, build_teacher,
                                                teacher_probs)
    model = build_teacher(cfg, ckpt, device)
    x = build_pipeline(cfg)({'img_path': sample_path})['inputs']
    batch = torch.randint(
        0, 256, (batch_size, *x.shape), dtype=torch.uint8, device=device)
    iters = max(3, num_images // batch_size)
    with torch.inference_mode():
        for _ in range(3):
            teacher_probs(model, batch, fp16).topk(soft_topn, 1)[0].cpu()
        sync(device)
        t0 = time.perf_counter()
        for _ in range(iters):
            tp, tc = teacher_probs(model, batch, fp16).topk(soft_topn, 1)
            tp.cpu(), tc.cpu()
        sync(device)
    return iters * batch_size / (time.perf_counter() - t0)


def decode_only(cfg, pool, root, batch_size, num_workers) -> float:
    from torch.utils.data import DataLoader

    from ssld_mm.data_selection.teacher import (PathTable, PoolDataset, build_pipeline,
                                                collate_pool, single_threaded_opencv)
    with open(pool) as f:
        paths = [osp.join(root, ln.strip()) for ln in f if ln.strip()]
    ds = PoolDataset(np.arange(len(paths)), PathTable(paths), build_pipeline(cfg))
    loader = DataLoader(
        ds,
        batch_size=batch_size,
        num_workers=num_workers,
        collate_fn=collate_pool,
        prefetch_factor=4 if num_workers else None)
    t0 = time.perf_counter()
    with single_threaded_opencv():
        n = sum(len(b['idx']) for b in loader)
    return n / (time.perf_counter() - t0)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument(
        '--config',
        default=None,
        help='teacher config (default: '
        "mmpretrain's resnet50_8xb32_in1k)")
    p.add_argument(
        '--checkpoint',
        help='default: random weights (speed does '
        'not depend on them)')
    p.add_argument('--num-images', type=int, default=2000)
    p.add_argument('--unique-images', type=int, default=64)
    p.add_argument('--batch-size', type=int, default=128)
    p.add_argument('--num-workers', type=int, default=max(1, (os.cpu_count() or 2) - 2))
    p.add_argument('--chunk-size', type=int, default=2048)
    p.add_argument('--device', default=None)
    p.add_argument('--fp16', action='store_true')
    p.add_argument('--work-dir', help='keep the pool here (default: a temp dir)')
    p.add_argument('--skip-decode', action='store_true')
    p.add_argument('--json', help='write the numbers here')
    args = p.parse_args(argv)

    from ssld_mm.data_selection import select_topk
    from ssld_mm.data_selection.teacher import load_teacher_config, resolve_device
    from ssld_mm.utils import setup_runtime
    setup_runtime()  # ssld_mm:: config paths, MMEngine checkpoint I/O
    device, _ = resolve_device(args.device)
    root = args.work_dir or tempfile.mkdtemp(prefix='select_speed_')
    os.makedirs(root, exist_ok=True)
    cfg = load_teacher_config(args.config or default_config())
    ckpt = args.checkpoint or random_checkpoint(cfg, osp.join(root, 'teacher.pth'))
    t0 = time.perf_counter()
    pool = make_pool(root, args.num_images, args.unique_images)
    print(
        f'pool of {args.num_images} JPEGs written in '
        f'{time.perf_counter() - t0:.1f}s',
        flush=True)
    sample = osp.join(root, 'img', '0000000.jpg')

    res = dict(
        device=device,
        torch=torch.__version__,
        gpu=torch.cuda.get_device_name(0) if device.startswith('cuda') else None,
        cpus=os.cpu_count(),
        config=args.config or 'mmpretrain resnet50_8xb32_in1k',
        num_images=args.num_images,
        batch_size=args.batch_size,
        num_workers=args.num_workers,
        fp16=args.fp16)
    res['pure_inference_img_s'] = pure_inference(cfg, ckpt, device, args.batch_size,
                                                 args.num_images, args.fp16, sample)
    print(f"pure inference: {res['pure_inference_img_s']:.1f} img/s", flush=True)
    if not args.skip_decode:
        res['decode_only_img_s'] = decode_only(cfg, pool, root, args.batch_size,
                                               args.num_workers)
        print(f"decode only: {res['decode_only_img_s']:.1f} img/s", flush=True)
    out = osp.join(root, 'selected.txt')
    shutil.rmtree(out + '.work', ignore_errors=True)
    t0 = time.perf_counter()
    r = select_topk(
        cfg,
        ckpt,
        pool,
        50,
        out,
        data_prefix=root,
        chunk_size=args.chunk_size,
        batch_size=args.batch_size,
        num_workers=args.num_workers,
        device=device,
        fp16=args.fp16,
        progress=False)
    total = time.perf_counter() - t0
    st = r['shard_stats']
    res['selection_img_s'] = st['images'] / st['seconds']
    res['selection_end_to_end_img_s'] = args.num_images / total
    res['ratio_selection_to_pure'] = (
        res['selection_img_s'] / res['pure_inference_img_s'])
    print(f"selection: {res['selection_img_s']:.1f} img/s (main loop), "
          f"{res['selection_end_to_end_img_s']:.1f} img/s end to end "
          f"(model build, list, merge included)")
    print(f"selection / pure inference = {res['ratio_selection_to_pure']:.3f} "
          '(goal >= 0.9)')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(res, f, indent=2)
    if not args.work_dir:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
