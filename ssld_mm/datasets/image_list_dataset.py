"""Labeled, unlabeled or mixed image lists as an MMPretrain dataset."""
import json
import os.path as osp
import warnings
from typing import Iterator, List, Optional, Sequence, Union

import numpy as np
from mmengine.fileio import get_file_backend
from mmengine.fileio import load as mmengine_load
from mmpretrain.datasets import BaseDataset

from ssld_mm.registry import DATASETS
from . import bad_images
from .image_list import (ImageListEntry, ImageListError, iter_image_list,
                         resolve_image_path)
from .soft_label_store import fill_distribution

# OpenMMLab 2.0 annotation files (``{'metainfo': ..., 'data_list': [...]}``).
_OPENMMLAB_SUFFIXES = ('.json', '.yaml', '.yml', '.pkl', '.pickle')
_MAX_LISTED_MISSING = 5
_MAX_REPLACEMENTS = 100


@DATASETS.register_module()
class ImageListDataset(BaseDataset):
    """An image list, labeled, unlabeled or both, for classification.

    Accepted lists (one sample per line, blank lines and ``#`` comments
    skipped, parsed by :mod:`ssld_mm.datasets.image_list`):

    * PaddleClas: ``train/n01440764/a.JPEG 0`` or ``unlabeled/b.jpg``;
    * MMPretrain ``CustomDataset`` ``ann_file``: ``folder/a.jpg 0`` (same
      syntax);
    * an OpenMMLab 2.0 annotation file (``.json``/``.yaml``/``.pkl``,
      ``{'metainfo': {...}, 'data_list': [{'img_path': ..., 'gt_label':
      ...}]}``) whose entries may omit ``gt_label``.

    A sample without a label gets a data info **without** a ``gt_label`` key
    (never a fake class 0), so MMPretrain's ``PackInputs`` makes a
    ``DataSample`` without ``gt_label``. Every data info keeps ``line_no``,
    its 1-based line (or ``data_list`` entry) in ``ann_file``: a missing image
    is reported when the dataset loads (``check_files=True``) and an
    unreadable image when it is fetched, both as ``ImageListError`` naming the
    list, the line number and the image path.

    Labeled and unlabeled lists are concatenated with MMEngine's
    ``ConcatDataset``, which requires equal ``metainfo``: give every part the
    same ``classes``.

    Args:
        ann_file (str): The image list (relative to ``data_root`` if not
            absolute).
        data_root (str): Root of ``ann_file`` and ``data_prefix``.
            Defaults to ''.
        data_prefix (str | dict): Folder the image paths of the list are
            relative to (joined to ``data_root``). Defaults to ''.
        labeled (str | bool): ``'auto'`` keeps the label of each line that
            has one (mixed lists allowed); ``False`` drops all labels (use a
            labeled list as an unlabeled pool); ``True`` requires a label on
            every line. Defaults to ``'auto'``.
        check_files (bool): Check at load time that every image exists.
            Defaults to True; switch off for very large remote pools.
        metainfo (dict, optional): Meta information, e.g. ``classes``.
        classes (str | Sequence[str], optional): Class names, or a file with
            one name per line. When given, labels must be ``< len(classes)``.
        pipeline (Sequence): Data pipeline. Defaults to (). A transform with
            a ``check_dataset(list, num_entries)`` method (e.g.
            ``ReplayStoredView``, the stored-teacher mode) is called when the
            list is loaded, so a soft-label store generated for another list,
            entry count or crop size stops the run before training.
        soft_labels (str, optional): ``select_topk.py --soft-labels`` output
            (JSON lines with ``path``, ``topk_classes``, ``topk_probs``; a
            relative path is relative to ``data_root``). Each entry whose
            path is in the list gets its distribution as ``gt_score`` (the
            mass outside the top classes spread uniformly over the others),
            the soft target of ``SoftLabelClsHead``; other entries keep only
            their ``gt_label``, if any. Needs ``classes``. Defaults to None.
        on_bad_image (str): What an unreadable image does when it is fetched
            (missing, zero bytes, truncated, not an image, decoder error, more
            than ``max_image_pixels``): ``'error'`` stops with an
            ``ImageListError`` naming list, line and image; ``'skip'`` replaces
            it by another sample of this list, chosen deterministically from
            its index (resumed runs see the same data), records it and goes
            on. With the ``BadImageHook`` of ``configs/_base_/default_runtime.py``
            the bad images are listed (``list:line``, path, reason) in
            ``<work_dir>/bad_images.txt`` and counted in the log once per
            epoch. Use ``'skip'`` for large unlabeled pools, ``'error'`` for
            labeled and validation lists. Defaults to ``'error'``.
        max_bad_images (int | float): With ``'skip'``: how many distinct bad
            images the list may have, a count or a fraction of its length;
            one more stops the run with the list. Defaults to 0.01.
        max_image_pixels (int, optional): An image whose header announces
            more pixels is a bad image (refused before decoding: a
            decompression bomb is not an out-of-memory). None: no limit.
            Defaults to 89478485 (Pillow's limit, e.g. 9459 x 9459).
        **kwargs: Other arguments of :class:`mmpretrain.datasets.BaseDataset`
            (``indices``, ``test_mode``, ``lazy_init``, ``serialize_data``...).

    Example:
        >>> classes = ('cat', 'dog')
        >>> pipeline = [dict(type='mmpretrain.LoadImageFromFile'),
        ...             dict(type='mmpretrain.RandomResizedCrop', scale=224),
        ...             dict(type='mmpretrain.PackInputs')]
        >>> train_dataloader = dict(
        ...     batch_size=64, num_workers=8,
        ...     sampler=dict(type='DefaultSampler', shuffle=True),
        ...     dataset=dict(
        ...         type='ConcatDataset',
        ...         datasets=[
        ...             dict(type='ImageListDataset', data_root='data/pets',
        ...                  ann_file='train_list.txt', classes=classes,
        ...                  pipeline=pipeline),
        ...             dict(type='ImageListDataset', data_root='data/pool',
        ...                  ann_file='unlabeled_list.txt', labeled=False,
        ...                  classes=classes, pipeline=pipeline),
        ...         ]))
    """

    def __init__(self,
                 ann_file: str,
                 data_root: str = '',
                 data_prefix: Union[str, dict] = '',
                 labeled: Union[str, bool] = 'auto',
                 check_files: bool = True,
                 metainfo: Optional[dict] = None,
                 classes: Union[str, Sequence[str], None] = None,
                 pipeline: Sequence = (),
                 soft_labels: Optional[str] = None,
                 on_bad_image: str = 'error',
                 max_bad_images: Union[int, float] = 0.01,
                 max_image_pixels: Optional[int] = 89478485,
                 **kwargs) -> None:
        self._init_bad_image_policy(on_bad_image, max_bad_images, max_image_pixels)
        if soft_labels is not None and (not isinstance(soft_labels, str)
                                        or not soft_labels):
            raise ValueError('soft_labels must be the path of a '
                             f'select_topk.py --soft-labels file, got '
                             f'{soft_labels!r}')
        if soft_labels is not None and data_root and not osp.isabs(soft_labels):
            soft_labels = osp.join(data_root, soft_labels)
        self.soft_labels = soft_labels
        if not isinstance(ann_file, str) or not ann_file:
            raise ValueError(f'ann_file must be the path of an image list, got '
                             f'{ann_file!r}')
        if not (labeled == 'auto' if isinstance(labeled, str) else isinstance(
                labeled, bool)):
            raise ValueError(f"labeled must be one of 'auto', True, False; "
                             f'got {labeled!r}')
        if not isinstance(check_files, bool):
            raise TypeError(f'check_files must be a bool, got {check_files!r}')
        self.labeled = labeled
        self.check_files = check_files
        super().__init__(
            ann_file=ann_file,
            metainfo=metainfo,
            data_root=data_root,
            data_prefix=data_prefix,
            pipeline=pipeline,
            classes=classes,
            **kwargs)

    # ------------------------------------------------------------ loading
    @property
    def _is_text_list(self) -> bool:
        return not self.ann_file.lower().endswith(_OPENMMLAB_SUFFIXES)

    def _where(self, line_no: int) -> str:
        """``list:line`` (text lists) or ``list, data_list[i]`` (JSON...)."""
        if self._is_text_list:
            return f'{self.ann_file}:{line_no}'
        return f'{self.ann_file}, data_list[{line_no - 1}]'

    def _iter_openmmlab_entries(self) -> Iterator[ImageListEntry]:
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(f'image list {self.ann_file!r} does not exist')
        annotations = mmengine_load(self.ann_file)
        if not isinstance(annotations, dict) or \
                not isinstance(annotations.get('data_list'), list):
            raise ImageListError(
                f'{self.ann_file}: an OpenMMLab 2.0 annotation file must be a '
                f"dict with a 'data_list' list")
        for k, v in (annotations.get('metainfo') or {}).items():
            self._metainfo.setdefault(k, v)
        for i, item in enumerate(annotations['data_list']):
            line_no = i + 1
            if not isinstance(item, dict) or not isinstance(item.get('img_path'), str):
                raise ImageListError(
                    f"{self._where(line_no)}: expected a dict with 'img_path'"
                    f', got {item!r}')
            label = item.get('gt_label')
            if label is not None:
                if isinstance(label, (list, tuple)) and len(label) == 1:
                    label = label[0]
                if isinstance(label,
                              bool) or not isinstance(label,
                                                      (int, np.integer)) or label < 0:
                    raise ImageListError(
                        f'{self._where(line_no)}: gt_label must be an integer'
                        f" >= 0, got {item['gt_label']!r} for "
                        f"{item['img_path']!r}")
                label = int(label)
            yield ImageListEntry(item['img_path'], label, line_no)

    def _iter_entries(self) -> Iterator[ImageListEntry]:
        if self._is_text_list:
            yield from iter_image_list(
                self.ann_file, allow_unlabeled=self.labeled is not True)
            return
        for entry in self._iter_openmmlab_entries():
            if entry.label is None and self.labeled is True:
                raise ImageListError(f'{self._where(entry.line_no)}: labeled=True but '
                                     f'{entry.path!r} has no gt_label')
            yield entry

    def load_data_list(self) -> List[dict]:
        """Read the list into data infos (``img_path``, ``line_no`` and,
        for labeled lines, ``gt_label``)."""
        num_classes = len(self.CLASSES) if self.CLASSES is not None else None
        #: the largest label and its list:line (checked against the model by
        #: LabelRangeHook when the list names no classes)
        self.max_label = (-1, '')
        data_list = []
        missing = []
        backend = None
        for entry in self._iter_entries():
            img_path = resolve_image_path(entry.path, self.img_prefix)
            info = {'img_path': img_path, 'line_no': entry.line_no}
            if entry.label is not None and self.labeled is not False:
                if num_classes is not None and entry.label >= num_classes:
                    raise ImageListError(
                        f'{self._where(entry.line_no)}: label {entry.label} '
                        f'of {entry.path!r} is out of range for '
                        f'{num_classes} classes')
                info['gt_label'] = entry.label
                if entry.label > self.max_label[0]:
                    self.max_label = (entry.label, self._where(entry.line_no))
            if self.check_files:
                if backend is None:
                    backend = get_file_backend(img_path, enable_singleton=True)
                if not backend.isfile(img_path):
                    missing.append(f'{self._where(entry.line_no)}: {img_path}')
            data_list.append(info)
        if missing:
            shown = '\n  '.join(missing[:_MAX_LISTED_MISSING])
            more = len(missing) - _MAX_LISTED_MISSING
            tail = f'\n  ... and {more} more' if more > 0 else ''
            if self.on_bad_image == 'skip' and len(missing) <= \
                    bad_images.bad_image_budget(self.max_bad_images,
                                                len(data_list)):
                warnings.warn(
                    f'{len(missing)} image(s) named in {self.ann_file} do not '
                    "exist; on_bad_image='skip' replaces them when fetched:"
                    f'\n  {shown}{tail}')
                missing = []
        if missing:
            raise ImageListError(
                f'{len(missing)} image(s) named in {self.ann_file} do not '
                f'exist (list:line: path):\n  {shown}{tail}')
        if not data_list:
            raise ImageListError(f'image list {self.ann_file} has no samples')
        if self.soft_labels is not None:
            self._attach_soft_labels(data_list)
        return data_list

    def _attach_soft_labels(self, data_list: List[dict]) -> None:
        """Add the top classes/probabilities of ``self.soft_labels`` to the
        data infos of the same image (``gt_score`` is filled at fetch)."""
        if self.CLASSES is None:
            raise ValueError(
                f'ImageListDataset({self.ann_file}): soft_labels needs the '
                'number of classes: give classes=... (or metainfo)')
        num_classes = len(self.CLASSES)
        if not osp.isfile(self.soft_labels):
            raise FileNotFoundError(
                f'soft-label file {self.soft_labels!r} does not exist')
        soft = {}
        with open(self.soft_labels, encoding='utf-8') as f:
            for line_no, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                where = f'{self.soft_labels}:{line_no}'
                try:
                    item = json.loads(line)
                    path = item['path']
                    cls = np.asarray(item['topk_classes'], dtype=np.int64)
                    prob = np.asarray(item['topk_probs'], dtype=np.float32)
                except (ValueError, KeyError, TypeError) as e:
                    raise ImageListError(
                        f'{where}: expected a JSON object with path, '
                        f'topk_classes, topk_probs ({type(e).__name__}: {e})') from None
                if cls.ndim != 1 or cls.shape != prob.shape or not len(cls) \
                        or cls.min() < 0 or cls.max() >= num_classes \
                        or prob.min() < 0:
                    raise ImageListError(
                        f'{where}: topk_classes {cls.tolist()} / topk_probs '
                        f'{prob.tolist()} must be equally long, classes in '
                        f'[0, {num_classes}), probabilities >= 0')
                soft[resolve_image_path(path, self.img_prefix)] = (cls.tolist(),
                                                                   prob.tolist())
        matched = 0
        for info in data_list:
            hit = soft.get(info['img_path'])
            if hit is not None:
                info['soft_topk_idx'], info['soft_topk_prob'] = hit
                matched += 1
        if soft and not matched:
            raise ImageListError(
                f'none of the {len(soft)} images of soft-label file '
                f'{self.soft_labels} is in {self.ann_file} (paths are matched '
                'as written in both files)')

    def full_init(self) -> None:
        """Load the list, then let pipeline transforms check it (e.g. a
        soft-label store against the list it was generated from)."""
        if self._fully_initialized:
            return
        super().full_init()
        for t in getattr(self.pipeline, 'transforms', None) or ():
            check = getattr(t, 'check_dataset', None)
            if callable(check):
                check(self.ann_file, len(self))

    def get_data_info(self, idx: int) -> dict:
        """The data info of sample ``idx``; with ``soft_labels``, its full
        distribution as ``gt_score`` (float32, ``len(classes)``)."""
        info = super().get_data_info(idx)
        if 'soft_topk_idx' in info:
            info['gt_score'] = fill_distribution(
                np.asarray(info.pop('soft_topk_idx')),
                np.asarray(info.pop('soft_topk_prob')), len(self.CLASSES))
        return info

    # ----------------------------------------------------------- fetching
    def run_pipeline(self, data_info: dict) -> Optional[dict]:
        """Run the pipeline on one data info; an error names list, line and
        image."""
        try:
            return self.pipeline(data_info)
        except Exception as e:
            line_no = data_info.get('line_no', 0)
            raise ImageListError(
                f'{self._where(line_no)}: cannot load or transform image '
                f"{data_info.get('img_path')!r}: {type(e).__name__}: {e}") from e

    def prepare_data(self, idx: int) -> Optional[dict]:
        """Fetch sample ``idx`` through the pipeline (see ``run_pipeline``);
        a bad image is replaced or raises, as ``on_bad_image`` says."""
        for attempt in range(_MAX_REPLACEMENTS + 1):
            info = self.get_data_info(idx)
            reason = bad_images.too_many_pixels(info['img_path'], self.max_image_pixels)
            if reason is None:
                try:
                    return self.run_pipeline(info)
                except ImageListError:
                    reason = bad_images.diagnose_image(info['img_path'])
                    if reason is None or self.on_bad_image == 'error':
                        raise  # not the image's fault, or not to be skipped
            if self.on_bad_image == 'error':
                raise ImageListError(f"{self._where(info.get('line_no', 0))}: image "
                                     f"{info['img_path']!r}: {reason}")
            self._record_bad_image(info, reason)
            idx = bad_images.replacement_index(idx, attempt, len(self))
        raise ImageListError(
            f'{self.ann_file}: {_MAX_REPLACEMENTS + 1} bad images in a row '
            'while looking for a replacement; is the image folder there?')

    # ------------------------------------------------------- bad images
    def _init_bad_image_policy(self, on_bad_image: str, max_bad_images: Union[int,
                                                                              float],
                               max_image_pixels: Optional[int]) -> None:
        if on_bad_image not in ('error', 'skip'):
            raise ValueError("on_bad_image must be 'error' or 'skip', got "
                             f'{on_bad_image!r}')
        bad_images.bad_image_budget(max_bad_images, 0)  # validates
        if max_image_pixels is not None and (isinstance(max_image_pixels, bool)
                                             or not isinstance(max_image_pixels, int)
                                             or max_image_pixels < 1):
            raise ValueError('max_image_pixels must be a positive int or None, '
                             f'got {max_image_pixels!r}')
        self.on_bad_image = on_bad_image
        self.max_bad_images = max_bad_images
        self.max_image_pixels = max_image_pixels
        #: set by ``BadImageHook``: the work dir's report file
        self.bad_image_report: Optional[str] = None
        #: bad images this process met: ``{list:line: (path, reason)}``
        self.bad_images: dict = {}

    def _record_bad_image(self, info: dict, reason: str) -> None:
        """Count and report a bad image; stop when over the budget."""
        where = self._where(info.get('line_no', 0))
        if where not in self.bad_images:
            self.bad_images[where] = (info['img_path'], reason)
            if self.bad_image_report is not None:
                bad_images.append_report(self.bad_image_report, where, info['img_path'],
                                         reason)
        seen = dict(self.bad_images)
        if self.bad_image_report is not None:  # other workers and ranks too
            seen.update(bad_images.read_report(self.bad_image_report))
        mine = {
            k: v
            for k, v in seen.items()
            if k.startswith(self.ann_file + (':' if self._is_text_list else ','))
        }
        budget = bad_images.bad_image_budget(self.max_bad_images, len(self))
        if len(mine) > budget:
            shown = '\n  '.join(f'{k}: {p}: {r}'
                                for k, (p, r) in sorted(mine.items())[:20])
            more = f'\n  ... and {len(mine) - 20} more' if len(mine) > 20 else ''
            raise ImageListError(f'{len(mine)} bad images in {self.ann_file} exceed '
                                 f'max_bad_images={self.max_bad_images!r} ({budget} of '
                                 f'{len(self)} samples); list:line: image: reason:\n  '
                                 f'{shown}{more}')

    # ------------------------------------------------------------- labels
    def is_labeled(self, idx: int) -> bool:
        """Whether sample ``idx`` carries a ``gt_label``."""
        return 'gt_label' in self.get_data_info(idx)

    @property
    def num_labeled(self) -> int:
        """Number of samples with a ``gt_label`` (reads every data info)."""
        return sum(self.is_labeled(i) for i in range(len(self)))

    def get_cat_ids(self, idx: int) -> List[int]:
        """``[label]`` of a labeled sample, ``[]`` for an unlabeled one."""
        info = self.get_data_info(idx)
        return [int(info['gt_label'])] if 'gt_label' in info else []

    def get_gt_labels(self) -> np.ndarray:
        """Labels of all samples; raises if any sample is unlabeled."""
        labels = [self.get_data_info(i).get('gt_label') for i in range(len(self))]
        unlabeled = sum(label is None for label in labels)
        if unlabeled:
            raise ValueError(
                f'{self.ann_file}: {unlabeled} of {len(labels)} samples have '
                f'no label; get_gt_labels() needs a fully labeled list')
        return np.array(labels)

    def extra_repr(self) -> List[str]:
        body = super().extra_repr()
        body.append(f'Labels: \t{self.labeled!r}')
        return body
