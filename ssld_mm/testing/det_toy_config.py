"""Run any MMDetection config of ssld_mm on the COCO toy set (tests, docs).

:func:`coco_toy_overrides` returns what has to change in a detection config
so that it trains and tests on a set written by
:func:`ssld_mm.testing.make_coco_toy` in seconds on a CPU: the data root,
classes and image scales (every resize step of the pipelines gets one small
scale; augmentations stay), ``num_classes`` of the box heads, no dataloader
workers, a short epoch-based schedule and a checkpoint every run. The
detector, its backbone settings (frozen stages, frozen BN, DCN, ...) and the
optimizer (layer-wise lr) are kept. :func:`write_coco_toy_config` writes
these overrides as a config file that inherits the original, for
``tools/train.py`` / ``tools/test.py``.

Example:
    >>> from ssld_mm.testing import make_coco_toy, write_coco_toy_config
    >>> info = make_coco_toy('data/coco_toy', num_train=64, num_val=32)
    >>> write_coco_toy_config(
    ...     'configs/detection/faster-rcnn_r50vd-ssld_fpn_1x_coco.py',
    ...     'work_dirs/toy/faster.py', info, max_epochs=12)
"""
import copy
import os
import os.path as osp
import pprint
from typing import Any, Dict, List, Optional, Sequence, Tuple

from mmengine.config import Config

_RESIZE_KEYS = ('scale', 'scales')


def _shrink_pipeline(pipeline: Sequence[dict], scale: Tuple[int, int]) -> List[dict]:
    out = []
    for step in pipeline:
        step = copy.deepcopy(dict(step))
        if 'scales' in step:
            step['scales'] = [scale]
        elif 'scale' in step:
            step['scale'] = scale
            step.pop('ratio_range', None)
        out.append(step)
    return out


def _with_num_classes(head: Any, num_classes: int) -> Any:
    if isinstance(head, (list, tuple)):
        return [dict(h, num_classes=num_classes) for h in head]
    return dict(num_classes=num_classes)


def _dataset(cfg: Config, loader: str, info: dict, split: str,
             scale: Tuple[int, int]) -> dict:
    dataset = cfg[loader]['dataset']
    while 'dataset' in dataset:  # RepeatDataset / ClassBalancedDataset
        dataset = dataset['dataset']
    out = dict(
        data_root=osp.abspath(info['root']) + os.sep,
        ann_file=info['ann_files'][split],
        data_prefix=dict(img=info['img_dirs'][split]),
        metainfo=dict(classes=tuple(info['classes'])),
        pipeline=_shrink_pipeline(dataset['pipeline'], scale))
    if split == 'train2017':
        out['filter_cfg'] = dict(filter_empty_gt=True, min_size=0)
    return out


def coco_toy_overrides(cfg: Config,
                       info: dict,
                       scale: Tuple[int, int] = (128, 128),
                       batch_size: int = 2,
                       max_epochs: int = 1,
                       warmup_iters: int = 10,
                       lr: Optional[float] = None,
                       checkpoint: Optional[str] = '__keep__',
                       score_thr: Optional[float] = None,
                       val_interval: Optional[int] = None) -> Dict[str, Any]:
    """Config keys to merge into ``cfg`` to run it on a COCO toy set.

    Args:
        cfg (Config): A loaded MMDetection config (``configs/detection/*``).
        info (dict): What :func:`make_coco_toy` returned.
        scale (tuple[int, int]): ``(width, height)`` given to every resize
            step (train and test).
        batch_size (int): Training images per iteration.
        max_epochs (int): Epochs; validation and a checkpoint at the end.
        warmup_iters (int): Linear warmup from 0.1x, then a constant lr.
        lr (float, optional): Base lr; the config's by default.
        checkpoint (str | None): ``model.backbone.init_cfg.checkpoint``;
            None for random init; by default the config's is kept.
        score_thr (float, optional): ``model.test_cfg.rcnn.score_thr``
            (0 keeps every box, so a barely trained detector still gets a
            COCO mAP instead of "empty results"); the config's by default.
        val_interval (int, optional): Epochs between validations;
            ``max_epochs`` by default.

    Returns:
        dict: Top-level keys to merge (``Config.merge_from_dict`` or a child
        config); lists (pipelines, cascade heads) are complete.
    """
    if batch_size < 1 or max_epochs < 1 or warmup_iters < 1:
        raise ValueError(f'batch_size, max_epochs and warmup_iters must be '
                         f'>= 1, got {batch_size}, {max_epochs}, '
                         f'{warmup_iters}')
    num_classes = len(info['classes'])
    model: Dict[str, Any] = dict(
        roi_head=dict(
            bbox_head=_with_num_classes(cfg.model.roi_head.bbox_head, num_classes)))
    if score_thr is not None:
        model['test_cfg'] = dict(rcnn=dict(score_thr=score_thr))
    if checkpoint != '__keep__':
        model['backbone'] = dict(
            init_cfg=dict(type='Pretrained', checkpoint=checkpoint))
    val = dict(
        batch_size=1,
        num_workers=0,
        persistent_workers=False,
        dataset=_dataset(cfg, 'val_dataloader', info, 'val2017', scale))
    out: Dict[str, Any] = dict(
        model=model,
        train_dataloader=dict(
            batch_size=batch_size,
            num_workers=0,
            persistent_workers=False,
            dataset=_dataset(cfg, 'train_dataloader', info, 'train2017', scale)),
        val_dataloader=val,
        test_dataloader=val,
        val_evaluator=dict(
            ann_file=osp.join(osp.abspath(info['root']), info['ann_files']['val2017'])),
        train_cfg=dict(
            _delete_=True,
            type='EpochBasedTrainLoop',
            max_epochs=max_epochs,
            val_interval=val_interval or max_epochs),
        param_scheduler=[
            dict(
                type='LinearLR',
                start_factor=0.1,
                by_epoch=False,
                begin=0,
                end=warmup_iters)
        ],
        default_hooks=dict(
            logger=dict(interval=1),
            checkpoint=dict(
                _delete_=True,
                type='CheckpointHook',
                interval=max_epochs,
                by_epoch=True)),
        auto_scale_lr=dict(enable=False))
    out['test_evaluator'] = out['val_evaluator']
    if lr is not None:
        out['optim_wrapper'] = dict(optimizer=dict(lr=lr))
    return out


def write_coco_toy_config(src: str, dst: str, info: dict, **kwargs) -> str:
    """Write a config that inherits ``src`` and runs it on the toy set.

    Args:
        src (str): The detection config.
        dst (str): The config file to write (parent folders are created).
        info (dict): What :func:`make_coco_toy` returned.
        **kwargs: :func:`coco_toy_overrides` options.

    Returns:
        str: ``dst``.
    """
    overrides = coco_toy_overrides(Config.fromfile(src), info, **kwargs)
    lines = [
        f'# {src} on the COCO toy set {info["root"]} '
        '(ssld_mm.testing.write_coco_toy_config)', f'_base_ = {osp.abspath(src)!r}'
    ]
    for key, value in overrides.items():
        lines.append(f'{key} = {pprint.pformat(_plain(value), width=79)}')
    os.makedirs(osp.dirname(osp.abspath(dst)), exist_ok=True)
    with open(dst, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return dst


def _plain(value: Any) -> Any:
    """ConfigDicts -> dicts, so the file holds plain literals."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    return value
