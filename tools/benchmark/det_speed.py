"""Images/s of MMDetection configs: training steps and inference.

For each config: the detector (backbone weights random: speed does not
depend on them) and the optimizer the config builds (layer-wise lr
constructor included), fed synthetic batches of the size the config's
pipeline makes from a COCO-sized 640x480 image (the test resize for
inference; the middle scale of a multi-scale train resize for training),
padded as its data preprocessor pads. Timed after warm-up iterations:

* train: data preprocessor + loss + backward + optimizer step, ``--batch``
  images per step (the config's per-GPU batch by default);
* test: data preprocessor + predict, one image per step (MMDetection's test
  batch).

Example:
    python tools/benchmark/det_speed.py \\
        configs/detection/cascade-rcnn_mbv3-large-ssld_fpn_320_coco.py \\
        configs/detection/cascade-rcnn_mbv3-large-ssld_fpn_640_coco.py \\
        --threads 2 --json det_speed.json
"""
import argparse
import json
import os.path as osp
import time
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch

SOURCE_SIZE = (640, 480)  # (w, h): a typical COCO image


def resized_size(pipeline: List[dict],
                 source: Tuple[int, int] = SOURCE_SIZE) -> Tuple[int, int]:
    """``(w, h)`` after the first resize step of ``pipeline`` (keep ratio;
    the middle scale of a ``RandomChoiceResize``)."""
    import mmcv
    for step in pipeline:
        scales = step.get('scales') or ([step['scale']] if 'scale' in step else None)
        if scales:
            scale = tuple(scales[len(scales) // 2])
            if step.get('keep_ratio', False):
                return tuple(mmcv.rescale_size(source, scale))
            return scale
    return source


def _batch(model,
           size: Tuple[int, int],
           count: int,
           num_boxes: int = 3,
           seed: int = 0) -> dict:
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData
    w, h = size
    rng = np.random.default_rng(seed)
    inputs, samples = [], []
    for _ in range(count):
        inputs.append(torch.from_numpy(rng.integers(0, 256, (3, h, w), dtype=np.uint8)))
        xy = rng.uniform(0, 0.6, (num_boxes, 2)) * [w, h]
        wh = rng.uniform(0.1, 0.4, (num_boxes, 2)) * [w, h]
        sample = DetDataSample(
            metainfo=dict(
                img_shape=(h, w), ori_shape=(h, w), scale_factor=(1.0, 1.0), img_id=0))
        sample.gt_instances = InstanceData(
            bboxes=torch.tensor(np.hstack([xy, xy + wh]), dtype=torch.float32),
            labels=torch.from_numpy(rng.integers(0, 80, num_boxes)))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def measure(config: str,
            batch: Optional[int] = None,
            train_iters: int = 5,
            test_iters: int = 10,
            warmup: int = 1) -> Dict[str, object]:
    """Train and test images/s of one config on this machine's CPU."""
    import mmdet.models  # noqa: F401
    from mmdet.registry import MODELS
    from mmengine.config import Config
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import DefaultScope

    import ssld_mm.engine  # noqa: F401
    import ssld_mm.models  # noqa: F401
    from ssld_mm.utils import setup_runtime

    setup_runtime()  # ssld_mm:: config paths
    cfg = Config.fromfile(config)
    cfg.model.backbone.init_cfg = None
    batch = batch or cfg.train_dataloader.batch_size
    train_size = resized_size(cfg.train_dataloader.dataset.pipeline)
    test_size = resized_size(cfg.test_dataloader.dataset.pipeline)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'mmdet')):
        torch.manual_seed(0)
        model = MODELS.build(cfg.model)
        model.init_weights()
        wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    result: Dict[str, object] = dict(
        config=osp.basename(config),
        threads=torch.get_num_threads(),
        train_batch=batch,
        train_size=list(train_size),
        test_size=list(test_size))

    model.train()
    data = _batch(model, train_size, batch)
    for i in range(warmup + train_iters):
        if i == warmup:
            start = time.perf_counter()
        model.train_step(data, wrapper)
    result['train_img_per_s'] = batch * train_iters / (time.perf_counter() - start)

    model.eval()
    data = _batch(model, test_size, 1)
    with torch.no_grad():
        for i in range(warmup + test_iters):
            if i == warmup:
                start = time.perf_counter()
            model.test_step(data)
    result['test_img_per_s'] = test_iters / (time.perf_counter() - start)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('configs', nargs='+', help='MMDetection config files')
    parser.add_argument(
        '--batch', type=int, default=None, help='train batch (default: the config\'s)')
    parser.add_argument('--train-iters', type=int, default=5)
    parser.add_argument('--test-iters', type=int, default=10)
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument(
        '--threads',
        type=int,
        default=None,
        help='torch.set_num_threads (default: torch\'s)')
    parser.add_argument('--json', default=None, help='write results here')
    args = parser.parse_args()
    for name in ('train_iters', 'test_iters'):
        if getattr(args, name) < 1:
            parser.error(f'--{name.replace("_", "-")} must be >= 1')
    if args.threads:
        torch.set_num_threads(args.threads)
    from mmengine.logging import MMLogger

    # keep the per-parameter init and lr logs off the console
    MMLogger.get_instance('det_speed', log_level='WARNING')
    rows = []
    print('| config | train size | train img/s (batch) | test size | '
          'test img/s | threads |')
    print('|---|---|---|---|---|---|')
    for config in args.configs:
        r = measure(config, args.batch, args.train_iters, args.test_iters, args.warmup)
        rows.append(r)
        print(
            f"| {r['config']} | {r['train_size'][0]}x{r['train_size'][1]} "
            f"| {r['train_img_per_s']:.2f} ({r['train_batch']}) | "
            f"{r['test_size'][0]}x{r['test_size'][1]} | "
            f"{r['test_img_per_s']:.2f} | {r['threads']} |",
            flush=True)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(rows, f, indent=2)


if __name__ == '__main__':
    main()
