"""A subset of any dataset, selected by indices or an index file."""
import copy
from typing import List, Optional, Sequence, Union

from mmengine.dataset import BaseDataset, force_full_init

from ssld_mm.registry import DATASETS
from .indices import IndexSpec, load_indices


@DATASETS.register_module()
class SubsetDataset(BaseDataset):
    """The samples ``indices`` of a wrapped dataset, through its pipeline.

    MMEngine's ``BaseDataset(indices=...)`` (honoured by MMPretrain's
    ``FashionMNIST``, ``CIFAR10``, ``CustomDataset``...) takes only an int or
    an inline list; this wrapper also reads the indices from a ``.txt`` or
    ``.npy`` file, so a labeled subset L and the unlabeled rest U can be kept
    as two explicit, disjoint index files (see
    :func:`ssld_mm.datasets.split_indices`). It is an MMEngine
    ``BaseDataset``, so it goes into ``ConcatDataset``.

    Samples are fetched as ``dataset.pipeline(dataset.get_data_info(i))`` for
    the selected ``i`` (through ``dataset.run_pipeline`` when the wrapped
    dataset has one, e.g. :class:`ImageListDataset`, whose errors name list
    and line). ``metainfo``, ``test_mode`` and ``max_refetch`` are the wrapped
    dataset's.

    Args:
        dataset (dict | BaseDataset): The wrapped dataset or its config.
        indices (int | Sequence[int] | str, optional): Selected samples:
            the first ``k`` (``-k``: last ``k``), a list of ints, or a
            ``.txt``/``.npy`` index file. Defaults to None (all samples).
            Duplicates and out-of-range indices raise ``ValueError``.
        lazy_init (bool): Defer loading the wrapped dataset and the indices
            until first use. Defaults to False.

    Example:
        >>> labeled_part = dict(
        ...     type='SubsetDataset',
        ...     dataset=dict(type='mmpretrain.FashionMNIST',
        ...                  data_root='data/fashion_mnist', split='train',
        ...                  pipeline=train_pipeline),
        ...     indices='data/fashion_mnist/labeled_idx.txt')
    """

    #: Data-info keys removed from every sample (none for a plain subset).
    LABEL_KEYS: Sequence[str] = ()

    def __init__(self,
                 dataset: Union[dict, BaseDataset],
                 indices: IndexSpec = None,
                 lazy_init: bool = False) -> None:
        if isinstance(dataset, dict):
            dataset = DATASETS.build(dataset)
        for attr in ('get_data_info', 'pipeline', '__len__'):
            if not hasattr(dataset, attr):
                raise TypeError(
                    f'{type(self).__name__} wraps a dataset with '
                    f'`get_data_info`, `pipeline` and `__len__` (an MMEngine '
                    f'BaseDataset); {type(dataset).__name__} has no {attr!r}')
        self.dataset = dataset
        self._index_spec = indices
        self._ori_indices: List[int] = []
        self._fully_initialized = False
        self.test_mode = getattr(dataset, 'test_mode', False)
        self.max_refetch = getattr(dataset, 'max_refetch', 1000)
        self.serialize_data = False
        self.pipeline = dataset.pipeline
        if not lazy_init:
            self.full_init()

    @property
    def metainfo(self) -> dict:
        """The wrapped dataset's meta information."""
        return copy.deepcopy(self.dataset.metainfo)

    def full_init(self) -> None:
        """Initialize the wrapped dataset and resolve the indices."""
        if self._fully_initialized:
            return
        if hasattr(self.dataset, 'full_init'):
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
        data_info = self.get_data_info(idx)
        run = getattr(self.dataset, 'run_pipeline', None)
        return run(data_info) if run is not None else self.pipeline(data_info)

    def get_subset_(self, indices: Union[Sequence[int], int]) -> None:
        """Keep only ``indices`` (positions in this subset), in place."""
        positions = load_indices(indices, len(self), allow_duplicates=True)
        self._ori_indices = [self._ori_indices[i] for i in positions]

    def get_subset(self, indices: Union[Sequence[int], int]) -> 'BaseDataset':
        """A copy holding only ``indices`` (positions in this subset)."""
        sub = copy.copy(self)
        sub.get_subset_(indices)
        return sub

    def __repr__(self) -> str:
        size = len(self) if self._fully_initialized else 'not initialized'
        return (f'{type(self).__name__}(samples: {size}, wrapping '
                f'{type(self.dataset).__name__})')
