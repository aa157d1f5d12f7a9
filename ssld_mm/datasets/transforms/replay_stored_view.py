"""Replay a stored crop + flip and attach the stored teacher distribution."""
from typing import Iterator, Optional, Sequence, Tuple, Union

import mmcv
import numpy as np
import torch
from mmcv.transforms import BaseTransform

from ssld_mm.datasets.soft_label_store import (SoftLabelStore, fill_distribution,
                                               normalize_crop_size, select_view)
from ssld_mm.registry import TRANSFORMS


@TRANSFORMS.register_module()
class ReplayStoredView(BaseTransform):
    """Stored-teacher mode: the crop, flip and soft label of a stored view.

    Put it where ``RandomResizedCrop`` + ``RandomFlip`` stand in the student's
    train pipeline. For sample ``sample_idx`` (its entry in the image list)
    in epoch ``e`` it takes the view ``select_view(sample_idx, e, seed, M)``
    of the soft-label store (``tools/data/generate_soft_labels.py``), crops
    its box with ``mmcv.imcrop``, resizes to ``scale`` with ``mmcv.imresize``
    and flips horizontally if the view was flipped: the operations, in the
    order, of MMPretrain's ``RandomResizedCrop`` followed by ``RandomFlip``,
    so the student sees the pixels the teacher saw at generation. The view's
    top-K distribution becomes the sample's ``gt_score`` (the mass outside
    the top K spread uniformly over the other classes; exact when K is the
    number of classes), the soft target of :class:`SoftLabelClsHead` and
    friends. Transforms after it (colour jitter, AutoAugment, ...) still
    apply; they must preserve the label.

    The epoch comes from :class:`StoredViewEpochHook` (add it to
    ``custom_hooks``), which sets it before every training epoch, also after
    ``--resume``, so a resumed run replays the same views. It lives in shared
    memory, so persistent DataLoader workers see it. The dataset
    (:class:`ImageListDataset`) calls :meth:`check_dataset` when it loads,
    which stops a run whose list, entry count or crop size is not the
    store's.

    Required keys: ``img``, ``sample_idx``. Modified: ``img``, ``img_shape``.
    Added: ``gt_score``, ``flip``, ``flip_direction``, ``stored_view``.

    Args:
        store (str): The soft-label store directory.
        scale (int | tuple[int, int]): Output size, ``(h, w)`` or an int, as
            ``RandomResizedCrop.scale``; must be the store's crop size.
        interpolation (str, optional): ``mmcv.imresize`` interpolation.
            Defaults to the one the store's views were rendered with
            (``index.json`` ``view_sampler``), else ``'bilinear'``
            (``RandomResizedCrop``'s default). A different value is an error:
            the student would not see the teacher's pixels.
        backend (str, optional): ``'cv2'`` or ``'pillow'``, defaulted and
            checked the same way (else ``'cv2'``).
        seed (int, optional): Seed of the view choice. Defaults to the
            store's seed.
        pad_val (int | float, optional): Views of ``RandomCrop(padding=...)``
            reach past the image border: the outside is filled with this
            value (``RandomCrop``'s ``pad_val``, constant padding). None
            (default): a box must lie inside the image
            (``RandomResizedCrop`` views), anything else is an error.

    Example:
        >>> train_pipeline = [
        ...     dict(type='mmpretrain.LoadImageFromFile'),
        ...     dict(type='ssld_mm.ReplayStoredView',
        ...          store='work_dirs/soft_labels_r50vd', scale=224),
        ...     dict(type='mmpretrain.PackInputs'),
        ... ]
        >>> custom_hooks = [dict(type='ssld_mm.StoredViewEpochHook')]
    """

    def __init__(self,
                 store: str,
                 scale: Union[int, Sequence[int]],
                 interpolation: Optional[str] = None,
                 backend: Optional[str] = None,
                 seed: Optional[int] = None,
                 pad_val: Optional[Union[int, float]] = None) -> None:
        if not isinstance(store, str) or not store:
            raise ValueError(f'ReplayStoredView: store must be the path of a '
                             f'soft-label store directory, got {store!r}')
        self.scale = normalize_crop_size(scale)
        self.store_dir = store
        self._store = SoftLabelStore(store)
        rendered = (self._store.index.get('view_sampler')
                    or {}).get('RandomResizedCrop') or {}
        for name, value, default in (('interpolation', interpolation, 'bilinear'),
                                     ('backend', backend, 'cv2')):
            stored = rendered.get(name)
            if value is not None and stored is not None and value != stored:
                raise ValueError(
                    f'ReplayStoredView: {name}={value!r}, but the views of '
                    f'soft-label store {store!r} were rendered with '
                    f'{name}={stored!r}: the student would not see the '
                    "teacher's pixels (leave it unset to use the store's)")
            setattr(self, name, value or stored or default)
        if self.backend not in ('cv2', 'pillow'):
            raise ValueError(f"ReplayStoredView: backend must be 'cv2' or "
                             f"'pillow', got {self.backend!r}")
        if self._store.crop_size != self.scale:
            raise ValueError(
                f'ReplayStoredView: soft-label store {store!r} holds views for '
                f'crops of {self._store.crop_size} (h, w), but scale is '
                f'{self.scale}: use the scale of the pipeline the store was '
                'generated for, or generate a store for this one')
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)
                                 or seed < 0):
            raise ValueError(f'ReplayStoredView: seed must be an int >= 0, '
                             f'got {seed!r}')
        self.seed = self._store.seed if seed is None else seed
        if pad_val is not None and (isinstance(pad_val, bool)
                                    or not isinstance(pad_val, (int, float))):
            raise TypeError(f'ReplayStoredView: pad_val must be None or a '
                            f'number, got {pad_val!r}')
        self.pad_val = pad_val
        self.num_classes = self._store.num_classes
        # Shared memory: forked and spawned DataLoader workers (persistent
        # ones too) read the epoch the main process sets.
        self._epoch = torch.full((1, ), -1, dtype=torch.int64).share_memory_()
        self.checked = False

    # ------------------------------------------------------------ epoch
    @property
    def epoch(self) -> int:
        """The epoch whose views are replayed (-1: not set yet)."""
        return int(self._epoch[0])

    def set_epoch(self, epoch: int) -> None:
        """Replay the views of ``epoch`` (called by StoredViewEpochHook)."""
        if isinstance(epoch, bool) or not isinstance(epoch,
                                                     (int, np.integer)) or epoch < 0:
            raise ValueError(f'ReplayStoredView: epoch must be an int >= 0, '
                             f'got {epoch!r}')
        self._epoch[0] = int(epoch)

    # ------------------------------------------------------------ checks
    def check_dataset(self, list_path: str, num_entries: int) -> None:
        """Raise ``ValueError`` unless the store was generated for this list
        (entry count, contents) and crop size."""
        self._store.check_matches(list_path, num_entries, self.scale)
        self.checked = True

    # ------------------------------------------------------------ replay
    def transform(self, results: dict) -> dict:
        epoch = self.epoch
        if epoch < 0:
            raise RuntimeError(
                'ReplayStoredView: the epoch is not set. Add '
                "custom_hooks=[dict(type='ssld_mm.StoredViewEpochHook')] to "
                'the config (or call set_epoch() outside a Runner)')
        idx = results.get('sample_idx')
        if idx is None:
            raise KeyError('ReplayStoredView needs results["sample_idx"] (the '
                           'entry of the image list), set by MMEngine '
                           'datasets')
        views = self._store.views(int(idx))
        view = select_view(int(idx), epoch, self.seed, self._store.num_views)
        pos = np.flatnonzero(views['view'] == view)
        if len(pos) != 1:
            raise KeyError(f'ReplayStoredView: sample {idx} has no view {view} '
                           f'in soft-label store {self.store_dir!r}')
        pos = int(pos[0])
        img = results['img']
        x1, y1, x2, y2 = (int(v) for v in views['box'][pos])
        h, w = img.shape[:2]
        inside = 0 <= x1 <= x2 < w and 0 <= y1 <= y2 < h
        overlaps = x1 <= x2 and y1 <= y2 and x1 < w and y1 < h \
            and x2 >= 0 and y2 >= 0
        if not inside and (self.pad_val is None or not overlaps):
            raise ValueError(
                f'ReplayStoredView: stored box {(x1, y1, x2, y2)} of sample '
                f'{idx} ({results.get("img_path", "")!r}) is outside its '
                f'{w}x{h} image: the store was generated from other images' +
                ('' if self.
                 pad_val is not None else ' (or from padded crops: set pad_val)'))
        if not inside:  # a RandomCrop(padding=...) view: pad, then crop
            left, top = max(0, -x1), max(0, -y1)
            img = mmcv.impad(
                img,
                padding=(left, top, max(0, x2 - w + 1), max(0, y2 - h + 1)),
                pad_val=self.pad_val)
            x1, x2, y1, y2 = x1 + left, x2 + left, y1 + top, y2 + top
        img = mmcv.imcrop(img, bboxes=np.array([x1, y1, x2, y2]))
        img = mmcv.imresize(
            img, (self.scale[1], self.scale[0]),
            interpolation=self.interpolation,
            backend=self.backend)
        flip = bool(views['flip'][pos])
        if flip:
            img = mmcv.imflip(img, direction='horizontal')
        results['img'] = img
        results['img_shape'] = img.shape
        results['flip'] = flip
        results['flip_direction'] = 'horizontal' if flip else None
        results['stored_view'] = view
        results['gt_score'] = fill_distribution(views['topk_idx'][pos],
                                                views['topk_prob'][pos],
                                                self.num_classes)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(store={self.store_dir!r}, '
                f'scale={self.scale}, interpolation={self.interpolation!r}, '
                f'backend={self.backend!r}, seed={self.seed}, '
                f'pad_val={self.pad_val})')


def iter_dataset_transforms(dataset) -> Iterator[Tuple[object, object]]:
    """``(dataset, transform)`` for every top-level pipeline transform of a
    dataset and of the datasets it wraps (``ConcatDataset.datasets``,
    ``RepeatDataset.dataset``, ...)."""
    seen = set()
    stack = [dataset]
    while stack:
        ds = stack.pop()
        if ds is None or id(ds) in seen:
            continue
        seen.add(id(ds))
        pipeline = getattr(ds, 'pipeline', None)
        for t in getattr(pipeline, 'transforms', None) or ():
            yield ds, t
        inner = getattr(ds, 'datasets', None)
        if isinstance(inner, (list, tuple)):
            stack.extend(inner)
        stack.append(getattr(ds, 'dataset', None))
