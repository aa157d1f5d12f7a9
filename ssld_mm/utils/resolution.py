"""Evaluate a classifier at another test resolution (``tools/test.py --test-size``).

A CNN trained at 224 often scores higher when tested somewhat larger (the
train/test resolution discrepancy FixRes is about; SSLD's rule of thumb tests
a 224 model at about 1.15x). :func:`set_test_resolution` rewrites the resize
and center-crop steps of the test pipeline of a config.
"""
from typing import List, Optional

from mmengine.config import Config

#: Short edge / crop of the standard ImageNet evaluation (256 / 224).
RESIZE_RATIO = 256 / 224


def default_resize_size(crop_size: int) -> int:
    """Short edge before a ``crop_size`` center crop: ``int(crop * 256 / 224)``.

    224 -> 256, 256 -> 292, 288 -> 329, 320 -> 365 (FixRes's rule).
    """
    return int(crop_size * RESIZE_RATIO)


def _pipelines(dataset_cfg) -> List[list]:
    """All ``pipeline`` lists of a dataset config, through dataset wrappers."""
    found = []
    if isinstance(dataset_cfg, dict):
        if isinstance(dataset_cfg.get('pipeline'), list):
            found.append(dataset_cfg['pipeline'])
        if isinstance(dataset_cfg.get('dataset'), dict):
            found += _pipelines(dataset_cfg['dataset'])
        for sub in dataset_cfg.get('datasets', None) or []:
            found += _pipelines(sub)
    return found


def _kind(transform: dict) -> str:
    type_ = transform.get('type', '')
    return type_.rsplit('.', 1)[-1] if isinstance(type_, str) else ''


def set_test_resolution(cfg: Config,
                        crop_size: int,
                        resize_size: Optional[int] = None,
                        loader: str = 'test_dataloader') -> List[str]:
    """Make the test pipeline resize to ``resize_size`` and crop ``crop_size``.

    In every pipeline of ``cfg[loader].dataset`` (dataset wrappers included):
    ``ResizeEdge`` gets ``scale=resize_size``, ``CenterCrop`` gets
    ``crop_size``; a fixed-size ``Resize`` gets ``(resize_size, resize_size)``
    before a center crop and ``(crop_size, crop_size)`` without one.

    Args:
        cfg (Config): The config, modified in place.
        crop_size (int): The evaluated image size.
        resize_size (int, optional): Short edge before cropping. Defaults to
            :func:`default_resize_size` of ``crop_size``.
        loader (str): Which dataloader to change. Defaults to
            ``'test_dataloader'``.

    Returns:
        list[str]: One line per changed transform (for the log).

    Raises:
        ValueError: For sizes < 1, a resize smaller than the crop, a missing
            loader, or a pipeline without any resize or crop step.

    Example:
        >>> cfg = Config.fromfile('configs/transfer/resnet50_vd_ssld_flowers102.py')
        >>> set_test_resolution(cfg, 256, 320)  # SSLD's 1.15x test of a 224 model
    """
    if not isinstance(crop_size, int) or crop_size < 1:
        raise ValueError(f'crop_size must be a positive int, got {crop_size!r}')
    if resize_size is None:
        resize_size = default_resize_size(crop_size)
    if not isinstance(resize_size, int) or resize_size < crop_size:
        raise ValueError(f'resize_size must be an int >= crop_size '
                         f'({crop_size}), got {resize_size!r}')
    loader_cfg = cfg.get(loader, None)
    if not isinstance(loader_cfg, dict) or 'dataset' not in loader_cfg:
        raise ValueError(f'config has no {loader}.dataset to change')
    changes = []
    for pipeline in _pipelines(loader_cfg['dataset']):
        kinds = [_kind(t) for t in pipeline]
        has_crop = 'CenterCrop' in kinds
        for i, transform in enumerate(pipeline):
            kind = kinds[i]
            if kind == 'ResizeEdge':
                transform['scale'] = resize_size
                changes.append(f'{kind}.scale={resize_size}')
            elif kind == 'CenterCrop':
                transform['crop_size'] = crop_size
                changes.append(f'{kind}.crop_size={crop_size}')
            elif kind == 'Resize':
                size = resize_size if has_crop else crop_size
                transform.pop('scale_factor', None)
                transform['scale'] = (size, size)
                changes.append(f'{kind}.scale=({size}, {size})')
    if not changes:
        kinds = [[_kind(t) for t in p] for p in _pipelines(loader_cfg['dataset'])]
        raise ValueError(
            f'no ResizeEdge, Resize or CenterCrop step in the pipelines of '
            f'{loader}: {kinds}')
    return changes


__all__ = ['set_test_resolution', 'default_resize_size', 'RESIZE_RATIO']
