"""A subset of any dataset, selected by indices or an index file."""
import copy
import logging
from typing import List, Optional, Sequence, Union

import numpy as np
from mmengine.dataset import BaseDataset, force_full_init
from mmengine.logging import print_log

from ssld_mm.registry import DATASETS
from .indices import IndexSpec, load_indices


@DATASETS.register_module()
class SubsetDataset:
    """The samples ``indices`` of a wrapped dataset, through its pipeline.

    MMEngine's ``BaseDataset(indices=...)`` (honoured by MMPretrain's
    ``FashionMNIST``, ``CIFAR10``, ``CustomDataset``...) takes only an int or
    an inline list; this wrapper also reads the indices from a ``.txt`` or
    ``.npy`` file, so a labeled subset L and the unlabeled rest U can be kept
    as two explicit, disjoint index files (see
    :func:`ssld_mm.datasets.split_indices`).

    It is a plain dataset wrapper in the shape of MMEngine's
    ``ClassBalancedDataset`` (``dataset``/``lazy_init``, ``metainfo``,
    ``full_init``, ``get_data_info``, ``__len__``, ``__getitem__``), not a
    ``BaseDataset``: it has no ``data_list`` of its own. Like
    ``ClassBalancedDataset``, an *instance* cannot be handed to MMEngine's
    ``ConcatDataset`` (which accepts ``BaseDataset`` instances or configs);
    give ``ConcatDataset`` the config dict instead, as in the example.

    Sample ``i`` is fetched as ``dataset.run_pipeline(info)`` when the wrapped
    dataset has one (:class:`ImageListDataset`, whose errors name list and
    line), else ``dataset.pipeline(info)``, where ``info`` is
    ``self.get_data_info(i)``: the wrapped dataset's data info of sample
    ``ori_indices[i]`` with ``LABEL_KEYS`` removed (``sample_idx`` stays the
    wrapped dataset's index, which stored soft labels are keyed by). This is
    why samples are not fetched as ``dataset[ori_indices[i]]``, as
    ``ClassBalancedDataset`` does:

    * the pipeline must see the subset's data info, so that
      :class:`UnlabeledDataset` removes the labels *before* the pipeline;
    * when the pipeline returns None (a broken image skipped, a filtering
      transform), the wrapped dataset's ``__getitem__`` would refetch a random
      sample of the *whole* wrapped dataset, so a subset L could yield samples
      of the unlabeled rest U (and U labeled samples). Here, outside test
      mode, another random sample *of this subset* is drawn (NumPy's global
      generator, as MMEngine does), up to the wrapped dataset's
      ``max_refetch`` (default 1000) times, then a ``RuntimeError`` naming the
      dataset is raised. In test mode (the wrapped dataset's ``test_mode``) a
      None is a ``RuntimeError`` at once.

    ``metainfo``, ``test_mode`` and ``max_refetch`` are the wrapped dataset's.

    Args:
        dataset (dict | BaseDataset): The wrapped MMEngine ``BaseDataset``
            (e.g. ``mmpretrain.FashionMNIST``, :class:`ImageListDataset`) or
            its config.
        indices (int | Sequence[int] | str, optional): Selected samples:
            the first ``k`` (``-k``: last ``k``), a list of ints, or a
            ``.txt``/``.npy`` index file. Defaults to None (all samples).
            Duplicates and out-of-range indices raise ``ValueError``.
        lazy_init (bool): Defer loading the wrapped dataset and the indices
            until first use. Defaults to False.

    Raises:
        TypeError: If ``dataset`` is neither a config dict nor an MMEngine
            ``BaseDataset`` (e.g. a ``ConcatDataset``: subset its parts).

    Example:
        >>> labeled_part = dict(
        ...     type='SubsetDataset',
        ...     dataset=dict(type='mmpretrain.FashionMNIST',
        ...                  data_root='data/fashion_mnist', split='train',
        ...                  pipeline=train_pipeline),
        ...     indices='data/fashion_mnist/labeled_idx.txt')
        >>> train_dataloader = dict(
        ...     dataset=dict(type='ConcatDataset', datasets=[labeled_part, ...]))
    """

    #: Data-info keys removed from every sample (none for a plain subset).
    LABEL_KEYS: Sequence[str] = ()

    def __init__(self,
                 dataset: Union[dict, BaseDataset],
                 indices: IndexSpec = None,
                 lazy_init: bool = False) -> None:
        built = DATASETS.build(dataset) if isinstance(dataset, dict) else dataset
        if not isinstance(built, BaseDataset):
            what = (f'its config built a {type(built).__name__}' if isinstance(
                dataset, dict) else f'got a {type(built).__name__}')
            raise TypeError(
                f'{type(self).__name__}: `dataset` must be a config dict or an '
                'MMEngine BaseDataset instance (e.g. mmpretrain.FashionMNIST, '
                f'ImageListDataset), {what}; to subset a ConcatDataset, '
                'subset each of its datasets')
        self.dataset = built
        self._index_spec = indices
        self._ori_indices: List[int] = []
        self._fully_initialized = False
        if not lazy_init:
            self.full_init()

    @property
    def metainfo(self) -> dict:
        """The wrapped dataset's meta information (a copy)."""
        return copy.deepcopy(self.dataset.metainfo)

    @property
    def test_mode(self) -> bool:
        """The wrapped dataset's ``test_mode``: a None from the pipeline is an
        error instead of a refetch."""
        return bool(getattr(self.dataset, 'test_mode', False))

    @property
    def max_refetch(self) -> int:
        """The wrapped dataset's ``max_refetch`` (default 1000)."""
        return int(getattr(self.dataset, 'max_refetch', 1000))

    def full_init(self) -> None:
        """Initialize the wrapped dataset and resolve the indices."""
        if self._fully_initialized:
            return
        self.dataset.full_init()
        self._ori_indices = load_indices(self._index_spec, len(self.dataset))
        self._fully_initialized = True

    @property
    @force_full_init
    def ori_indices(self) -> List[int]:
        """Indices of the selected samples in the wrapped dataset."""
        return list(self._ori_indices)

    @force_full_init
    def __len__(self) -> int:
        return len(self._ori_indices)

    @force_full_init
    def get_data_info(self, idx: int) -> dict:
        """Data info of the ``idx``-th selected sample (``LABEL_KEYS``
        removed); ``sample_idx`` stays the wrapped dataset's index."""
        data_info = self.dataset.get_data_info(self._ori_indices[idx])
        for key in self.LABEL_KEYS:
            data_info.pop(key, None)
        return data_info

    def prepare_data(self, idx: int) -> Optional[dict]:
        """The ``idx``-th selected sample through the wrapped dataset's
        pipeline (``run_pipeline`` when it has one); None if the pipeline
        dropped it."""
        data_info = self.get_data_info(idx)
        run = getattr(self.dataset, 'run_pipeline', None)
        return run(data_info) if run is not None else self.dataset.pipeline(data_info)

    def _describe(self, idx: int) -> str:
        info = self.dataset.get_data_info(self._ori_indices[idx])
        where = f", img_path {info['img_path']!r}" if 'img_path' in info else ''
        return (f'sample {idx} (index {self._ori_indices[idx]} of the wrapped '
                f'{type(self.dataset).__name__}{where})')

    def __getitem__(self, idx: int) -> dict:
        """The ``idx``-th selected sample after the pipeline; outside test
        mode a None from the pipeline is replaced by a random other sample
        of this subset (see the class docstring)."""
        if not self._fully_initialized:
            print_log(
                'Please call `full_init()` method manually to accelerate '
                'the speed.',
                logger='current',
                level=logging.WARNING)
            self.full_init()
        if self.test_mode:
            data = self.prepare_data(idx)
            if data is None:
                raise RuntimeError(
                    f'{type(self).__name__}: the pipeline returned None for '
                    f'{self._describe(idx)} in test mode; a test pipeline must '
                    'keep every sample')
            return data
        for _ in range(self.max_refetch + 1):
            data = self.prepare_data(idx)
            if data is not None:
                return data
            idx = self._rand_another()
        raise RuntimeError(
            f'{type(self).__name__} of {len(self)} samples of '
            f'{type(self.dataset).__name__}: the pipeline returned None '
            f'{self.max_refetch + 1} times in a row (max_refetch='
            f'{self.max_refetch}); check the image paths and the pipeline')

    def _rand_another(self) -> int:
        """A random position in this subset (never outside it)."""
        return np.random.randint(0, len(self))

    def get_subset_(self, indices: Union[Sequence[int], int]) -> None:
        """Keep only ``indices`` (positions in this subset), in place."""
        positions = load_indices(indices, len(self), allow_duplicates=True)
        self._ori_indices = [self._ori_indices[i] for i in positions]

    def get_subset(self, indices: Union[Sequence[int], int]) -> 'SubsetDataset':
        """A copy holding only ``indices`` (positions in this subset)."""
        sub = copy.copy(self)
        sub.get_subset_(indices)
        return sub

    def __repr__(self) -> str:
        size = len(self) if self._fully_initialized else 'not initialized'
        return (f'{type(self).__name__}(samples: {size}, wrapping '
                f'{type(self.dataset).__name__})')
