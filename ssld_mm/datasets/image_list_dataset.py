"""Labeled, unlabeled or mixed image lists as an MMPretrain dataset."""
import os.path as osp
from typing import Iterator, List, Optional, Sequence, Union

import numpy as np
from mmengine.fileio import get_file_backend
from mmengine.fileio import load as mmengine_load
from mmpretrain.datasets import BaseDataset

from ssld_mm.registry import DATASETS
from .image_list import (ImageListEntry, ImageListError, iter_image_list,
                         resolve_image_path)

# OpenMMLab 2.0 annotation files (``{'metainfo': ..., 'data_list': [...]}``).
_OPENMMLAB_SUFFIXES = ('.json', '.yaml', '.yml', '.pkl', '.pickle')
_MAX_LISTED_MISSING = 5


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
        pipeline (Sequence): Data pipeline. Defaults to ().
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
                 **kwargs) -> None:
        if not isinstance(ann_file, str) or not ann_file:
            raise ValueError(
                f'ann_file must be the path of an image list, got '
                f'{ann_file!r}')
        if not (labeled == 'auto' if isinstance(labeled, str)
                else isinstance(labeled, bool)):
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
            raise FileNotFoundError(
                f'image list {self.ann_file!r} does not exist')
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
            if not isinstance(item, dict) or not isinstance(
                    item.get('img_path'), str):
                raise ImageListError(
                    f"{self._where(line_no)}: expected a dict with 'img_path'"
                    f', got {item!r}')
            label = item.get('gt_label')
            if label is not None:
                if isinstance(label, (list, tuple)) and len(label) == 1:
                    label = label[0]
                if isinstance(label, bool) or not isinstance(
                        label, (int, np.integer)) or label < 0:
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
                raise ImageListError(
                    f'{self._where(entry.line_no)}: labeled=True but '
                    f'{entry.path!r} has no gt_label')
            yield entry

    def load_data_list(self) -> List[dict]:
        """Read the list into data infos (``img_path``, ``line_no`` and,
        for labeled lines, ``gt_label``)."""
        num_classes = len(self.CLASSES) if self.CLASSES is not None else None
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
            if self.check_files:
                if backend is None:
                    backend = get_file_backend(img_path, enable_singleton=True)
                if not backend.isfile(img_path):
                    missing.append(
                        f'{self._where(entry.line_no)}: {img_path}')
            data_list.append(info)
        if missing:
            shown = '\n  '.join(missing[:_MAX_LISTED_MISSING])
            more = len(missing) - _MAX_LISTED_MISSING
            tail = f'\n  ... and {more} more' if more > 0 else ''
            raise ImageListError(
                f'{len(missing)} image(s) named in {self.ann_file} do not '
                f'exist (list:line: path):\n  {shown}{tail}')
        if not data_list:
            raise ImageListError(f'image list {self.ann_file} has no samples')
        return data_list

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
                f"{data_info.get('img_path')!r}: {type(e).__name__}: {e}"
            ) from e

    def prepare_data(self, idx: int) -> Optional[dict]:
        """Fetch sample ``idx`` through the pipeline (see ``run_pipeline``)."""
        return self.run_pipeline(self.get_data_info(idx))

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
        labels = [self.get_data_info(i).get('gt_label')
                  for i in range(len(self))]
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
