"""Sample-index specs for dataset subsets: ints, lists and index files.

An index spec selects samples of a dataset of length ``n``:

* ``None``: all samples;
* an ``int`` ``k``: the first ``k`` samples (``-k``: the last ``k``), like
  MMEngine's ``BaseDataset(indices=k)``;
* a sequence of ints;
* a path to a ``.txt`` file (integers separated by whitespace or newlines,
  ``#`` comments allowed) or a ``.npy`` file (1-D integer array).

:func:`split_indices` and :func:`save_indices` write the disjoint
"labeled subset L + unlabeled rest U" index files used by
:class:`~ssld_mm.datasets.SubsetDataset` and
:class:`~ssld_mm.datasets.UnlabeledDataset`.
"""
import os
import os.path as osp
from numbers import Integral
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np

IndexSpec = Union[None, int, Sequence[int], str, os.PathLike]

INDEX_FILE_SUFFIXES = ('.txt', '.npy')


def _read_index_file(path: str) -> np.ndarray:
    if not osp.isfile(path):
        raise FileNotFoundError(f'index file {path!r} does not exist')
    suffix = osp.splitext(path)[1].lower()
    if suffix == '.npy':
        arr = np.load(path, allow_pickle=False)
        if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer):
            raise ValueError(f'index file {path!r} must hold a 1-D integer array, got '
                             f'shape {arr.shape} dtype {arr.dtype}')
        return arr.astype(np.int64)
    if suffix == '.txt':
        values = []
        with open(path, encoding='utf-8') as f:
            for line_no, line in enumerate(f, start=1):
                for token in line.split('#', 1)[0].split():
                    try:
                        values.append(int(token))
                    except ValueError:
                        raise ValueError(f'{path}:{line_no}: expected integer sample '
                                         f'indices, got {token!r}') from None
        return np.asarray(values, dtype=np.int64)
    raise ValueError(f'index file {path!r} must end with one of '
                     f'{INDEX_FILE_SUFFIXES}')


def load_indices(spec: IndexSpec,
                 length: int,
                 allow_duplicates: bool = False) -> List[int]:
    """Resolve an index spec against a dataset of ``length`` samples.

    Args:
        spec: ``None``, an int, a sequence of ints or a ``.txt``/``.npy``
            path (see the module docstring).
        length (int): Number of samples of the dataset.
        allow_duplicates (bool): Accept an index listed twice. Defaults to
            False (a duplicate is almost always a mistake in a split file).

    Returns:
        list[int]: Non-negative indices in the given order.

    Raises:
        ValueError / TypeError: For an index out of ``[0, length)``, a
            duplicate, or a spec of an unsupported type.
    """
    where = 'indices'
    if spec is None:
        return list(range(length))
    if isinstance(spec, bool):
        raise TypeError(f'indices must be None, an int, a sequence of ints '
                        f'or a .txt/.npy file path, got {spec!r}')
    if isinstance(spec, Integral):
        k = int(spec)
        if abs(k) > length:
            raise ValueError(f'indices={k} asks for more samples than the '
                             f'dataset has ({length})')
        return list(range(k)) if k >= 0 else list(range(length + k, length))
    if isinstance(spec, (str, os.PathLike)):
        where = f'index file {os.fspath(spec)!r}'
        arr = _read_index_file(os.fspath(spec))
    elif isinstance(spec, (Sequence, np.ndarray)):
        arr = np.asarray(spec)
        if arr.size == 0:
            arr = arr.astype(np.int64)
        if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer):
            raise TypeError(f'indices must be a flat sequence of ints, got '
                            f'{spec!r}'[:200])
    else:
        raise TypeError(f'indices must be None, an int, a sequence of ints '
                        f'or a .txt/.npy file path, got '
                        f'{type(spec).__name__}')
    bad = arr[(arr < 0) | (arr >= length)]
    if bad.size:
        raise ValueError(f'{where}: index {int(bad[0])} is out of range for '
                         f'a dataset of {length} samples ({bad.size} bad '
                         f'indices in total)')
    if not allow_duplicates:
        uniq, counts = np.unique(arr, return_counts=True)
        if (counts > 1).any():
            raise ValueError(f'{where}: index {int(uniq[counts > 1][0])} is '
                             f'listed more than once')
    return arr.tolist()


def split_indices(
    length: int,
    num_labeled: int,
    seed: Optional[int] = 0,
) -> Tuple[np.ndarray, np.ndarray]:
    """Randomly split ``range(length)`` into disjoint labeled/unlabeled parts.

    Args:
        length (int): Number of samples.
        num_labeled (int): Size of the labeled part L (0..length).
        seed (int, optional): Seed of the permutation. Defaults to 0.

    Returns:
        tuple[np.ndarray, np.ndarray]: Sorted indices of L and of U (the rest).
    """
    if not 0 <= num_labeled <= length:
        raise ValueError(f'num_labeled must be in [0, {length}], got '
                         f'{num_labeled}')
    perm = np.random.default_rng(seed).permutation(length)
    return np.sort(perm[:num_labeled]), np.sort(perm[num_labeled:])


def save_indices(path: str, indices: Sequence[int]) -> str:
    """Write indices as ``.txt`` (one per line) or ``.npy``; returns ``path``."""
    arr = np.asarray(indices, dtype=np.int64).reshape(-1)
    suffix = osp.splitext(path)[1].lower()
    if suffix not in INDEX_FILE_SUFFIXES:
        raise ValueError(f'index file {path!r} must end with one of '
                         f'{INDEX_FILE_SUFFIXES}')
    if osp.dirname(path):
        os.makedirs(osp.dirname(path), exist_ok=True)
    if suffix == '.npy':
        np.save(path, arr)
    else:
        np.savetxt(path, arr, fmt='%d')
    return path
