"""The stored-teacher soft-label store (FKD-style region soft labels).

A store is a directory written once by ``tools/data/generate_soft_labels.py``
and read by every student trained from it::

    STORE_DIR/index.json          what the store is (list, teacher, M, K, ...)
    STORE_DIR/shard_00000.npz     the views of samples [0, samples_per_shard)
    STORE_DIR/shard_00001.npz     ...
    STORE_DIR/skipped.txt         unreadable images (sample_idx<TAB>path<TAB>error)

Each shard is a plain, uncompressed ``numpy.savez`` archive with the arrays

=============  ===========  ==================================================
name           dtype/shape  meaning
=============  ===========  ==================================================
``sample_idx`` int64 (N,)   0-based entry of the image list
``view``       int16 (N,)   view number, 0..M-1
``box``        int32 (N,4)  crop ``x1, y1, x2, y2``, inclusive (what
                            ``mmcv.imcrop`` takes), in pixels of the image
                            entering the crop (may leave it by a
                            ``RandomCrop`` padding)
``flip``       bool (N,)    horizontal flip after the crop
``topk_idx``   int32 (N,K)  the teacher's K most probable classes, descending
``topk_prob``  f16 (N,K)    their softmax probabilities
=============  ===========  ==================================================

rows sorted by ``(sample_idx, view)``; ``np.load`` reads it with numpy only
(``docs/soft_label_store.md``). :class:`SoftLabelStore` reads it without
loading whole shards: the arrays of an uncompressed ``.npz`` are memory-mapped
(a few shards open at a time), so random access from DataLoader workers costs
a binary search and a few pages, and memory stays bounded for stores of
millions of images.
"""
import json
import mmap
import os.path as osp
import struct
import zipfile
from collections import OrderedDict
from typing import Any, Dict, Optional, Sequence, Tuple, Union

import numpy as np

FORMAT = 'ssld_mm.soft_label_store'
FORMAT_VERSION = 1
INDEX_FILE = 'index.json'
SKIPPED_FILE = 'skipped.txt'
#: Array name -> dtype of every shard.
SHARD_ARRAYS: Dict[str, np.dtype] = {
    'sample_idx': np.dtype(np.int64),
    'view': np.dtype(np.int16),
    'box': np.dtype(np.int32),
    'flip': np.dtype(np.bool_),
    'topk_idx': np.dtype(np.int32),
    'topk_prob': np.dtype(np.float16),
}
#: Keys every ``index.json`` has.
INDEX_KEYS = ('format', 'format_version', 'list_path', 'list_sha1', 'num_samples',
              'num_views', 'topk', 'num_classes', 'crop_size', 'seed',
              'samples_per_shard', 'shards', 'fill')

CropSize = Union[int, Sequence[int]]


def shard_name(shard_id: int) -> str:
    """File name of shard ``shard_id``: ``shard_00042.npz``."""
    return f'shard_{int(shard_id):05d}.npz'


def normalize_crop_size(crop_size: CropSize) -> Tuple[int, int]:
    """``(h, w)`` from an int or an ``(h, w)`` pair (MMPretrain's ``scale``).

    Raises:
        ValueError: If it is neither a positive int nor two positive ints.
    """
    if isinstance(crop_size, (int, np.integer)) and not isinstance(crop_size, bool):
        size = (int(crop_size), int(crop_size))
    elif isinstance(crop_size, (list, tuple)) and len(crop_size) == 2 and all(
            isinstance(s, (int, np.integer)) for s in crop_size):
        size = (int(crop_size[0]), int(crop_size[1]))
    else:
        raise ValueError('crop_size must be an int or an (h, w) pair of ints, '
                         f'got {crop_size!r}')
    if min(size) < 1:
        raise ValueError(f'crop_size must be positive, got {crop_size!r}')
    return size


# --------------------------------------------------------------- view choice
_MASK64 = (1 << 64) - 1


def _mix64(x: int) -> int:
    """SplitMix64 finaliser: a fixed, platform-independent 64-bit hash."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


def hash_ints(*values: int) -> int:
    """A 64-bit hash of a sequence of non-negative ints (stable across runs,
    processes, platforms and Python/NumPy versions)."""
    h = 0
    for v in values:
        h = _mix64(h ^ (int(v) & _MASK64))
    return h


def select_view(sample_idx: int, epoch: int, seed: int, num_views: int) -> int:
    """The stored view a sample replays in an epoch.

    Pure and deterministic (a resumed run replays the same views). Epochs go
    in blocks of ``num_views``: within a block every view of a sample is used
    exactly once, in an order that is a hash of ``(seed, sample_idx, block)``,
    so different samples and blocks see different orders.

    Args:
        sample_idx (int): Entry of the image list (0-based).
        epoch (int): Training epoch (0-based).
        seed (int): Seed (the store's ``seed`` by default).
        num_views (int): Views per sample (the store's ``M``).

    Returns:
        int: The view, ``0 <= view < num_views``.

    Example:
        >>> [select_view(7, e, seed=0, num_views=3) for e in range(3)]
        [1, 0, 2]
    """
    for name, value, low in (('sample_idx', sample_idx, 0), ('epoch', epoch, 0),
                             ('seed', seed, 0), ('num_views', num_views, 1)):
        if not isinstance(value,
                          (int, np.integer)) or isinstance(value, bool) or value < low:
            raise ValueError(f'{name} must be an integer >= {low}, got {value!r}')
    block, pos = divmod(int(epoch), int(num_views))
    keys = [hash_ints(seed, sample_idx, block, v) for v in range(num_views)]
    return sorted(range(num_views), key=lambda v: (keys[v], v))[pos]


def fill_distribution(topk_idx: np.ndarray, topk_prob: np.ndarray,
                      num_classes: int) -> np.ndarray:
    """The full class distribution of stored top-K probabilities.

    The K stored classes get their stored probability; the remaining mass
    ``max(0, 1 - sum(topk_prob))`` is spread uniformly over the other
    ``num_classes - K`` classes. With ``K == num_classes`` there are none, and
    the stored probabilities are divided by their sum (which removes float16
    rounding), so the distribution is the teacher's, exactly up to float16.

    Args:
        topk_idx (np.ndarray): ``(..., K)`` class indices.
        topk_prob (np.ndarray): ``(..., K)`` probabilities.
        num_classes (int): Number of classes.

    Returns:
        np.ndarray: ``(..., num_classes)`` float32, rows summing to 1.
    """
    topk_idx = np.asarray(topk_idx)
    prob = np.asarray(topk_prob, dtype=np.float32)
    if topk_idx.shape != prob.shape:
        raise ValueError(f'topk_idx {topk_idx.shape} and topk_prob '
                         f'{prob.shape} differ in shape')
    k = prob.shape[-1]
    if k > num_classes:
        raise ValueError(f'K={k} > num_classes={num_classes}')
    if topk_idx.size and (topk_idx.min() < 0 or topk_idx.max() >= num_classes):
        raise ValueError(f'topk_idx has classes outside [0, {num_classes})')
    mass = prob.sum(-1, keepdims=True)
    if k == num_classes:
        fill = np.zeros_like(mass)
        prob = prob / np.maximum(mass, 1e-12)
    else:
        fill = np.maximum(1.0 - mass, 0.0) / (num_classes - k)
    out = np.broadcast_to(fill, prob.shape[:-1] + (num_classes, )).copy()
    np.put_along_axis(out, topk_idx.astype(np.int64), prob, axis=-1)
    return out


# ------------------------------------------------------------------- writing
def validate_shard_arrays(arrays: Dict[str, np.ndarray],
                          topk: Optional[int] = None) -> Dict[str, np.ndarray]:
    """Check names, dtypes and shapes of one shard's arrays.

    Returns:
        dict: The arrays cast to the store's dtypes (safe casts only).

    Raises:
        ValueError: Naming the missing/extra array or the wrong shape.
    """
    missing = sorted(set(SHARD_ARRAYS) - set(arrays))
    extra = sorted(set(arrays) - set(SHARD_ARRAYS))
    if missing or extra:
        raise ValueError(f'shard arrays: missing {missing}, unexpected {extra}; '
                         f'expected exactly {sorted(SHARD_ARRAYS)}')
    out = {}
    for name, dtype in SHARD_ARRAYS.items():
        a = np.asarray(arrays[name])
        if not np.can_cast(a.dtype, dtype, casting='same_kind'):
            raise ValueError(f'shard array {name!r} has dtype {a.dtype}, '
                             f'expected {dtype}')
        out[name] = np.ascontiguousarray(a.astype(dtype, copy=False))
    n = len(out['sample_idx'])
    k = out['topk_idx'].shape[-1] if out['topk_idx'].ndim == 2 else None
    want = {
        'sample_idx': (n, ),
        'view': (n, ),
        'box': (n, 4),
        'flip': (n, ),
        'topk_idx': (n, k),
        'topk_prob': (n, k)
    }
    for name, shape in want.items():
        if out[name].shape != shape or (topk is not None and name.startswith('topk')
                                        and shape[1] != topk):
            raise ValueError(
                f'shard array {name!r} has shape {out[name].shape}, expected '
                f'{(n, topk) if name.startswith("topk") and topk else shape}')
    key = out['sample_idx'] * 65536 + out['view'].astype(np.int64)
    if n > 1 and np.any(np.diff(key) <= 0):
        raise ValueError('shard rows must be sorted by (sample_idx, view) '
                         'without duplicates')
    return out


def save_shard(store_dir: str,
               shard_id: int,
               arrays: Dict[str, np.ndarray],
               topk: Optional[int] = None) -> str:
    """Write one shard atomically (complete or absent after a kill).

    Args:
        store_dir (str): The store directory.
        shard_id (int): Shard number.
        arrays (dict): The six arrays (see the module docstring).
        topk (int, optional): Expected K.

    Returns:
        str: The shard's path.
    """
    from ssld_mm.utils.fileio import atomic_open
    arrays = validate_shard_arrays(arrays, topk)
    path = osp.join(store_dir, shard_name(shard_id))
    with atomic_open(path, 'wb') as f:
        write_npz(f, arrays)
    return path


def write_npz(file: Any, arrays: Dict[str, np.ndarray]) -> None:
    """``numpy.savez`` (uncompressed, readable by ``np.load``) with fixed
    member timestamps, so equal arrays give byte-identical files (a re-run of
    the generation can be checked with a checksum). Uncompressed members are
    what :class:`SoftLabelStore` memory-maps."""
    with zipfile.ZipFile(
            file, mode='w', compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name in sorted(arrays):
            info = zipfile.ZipInfo(name + '.npy', date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED
            with zf.open(info, 'w', force_zip64=True) as fid:
                np.lib.format.write_array(
                    fid, np.asanyarray(arrays[name]), allow_pickle=False)


def make_index(*,
               list_path: str,
               num_samples: int,
               num_views: int,
               topk: int,
               num_classes: int,
               crop_size: CropSize,
               seed: int,
               samples_per_shard: int,
               list_sha1: Optional[str] = None,
               **extra: Any) -> Dict[str, Any]:
    """An ``index.json`` dict with the required keys and the shard table.

    Shard ``s`` holds samples ``[s * samples_per_shard, (s + 1) *
    samples_per_shard)``. ``list_sha1`` defaults to the SHA-1 of
    ``list_path``. ``extra`` keys (teacher, view sampler, skipped count, ...)
    are stored as given.
    """
    if list_sha1 is None:
        from ssld_mm.data_selection.resumable import file_sha1
        list_sha1 = file_sha1(list_path)
    if samples_per_shard < 1:
        raise ValueError(f'samples_per_shard must be >= 1, got '
                         f'{samples_per_shard}')
    num_shards = -(-int(num_samples) // int(samples_per_shard))
    index = dict(
        format=FORMAT,
        format_version=FORMAT_VERSION,
        list_path=list_path,
        list_sha1=list_sha1,
        num_samples=int(num_samples),
        num_views=int(num_views),
        topk=int(topk),
        num_classes=int(num_classes),
        crop_size=list(normalize_crop_size(crop_size)),
        seed=int(seed),
        samples_per_shard=int(samples_per_shard),
        fill='uniform_rest',
        shards=[
            dict(
                file=shard_name(s),
                first_sample=s * samples_per_shard,
                num_samples=min(samples_per_shard, num_samples - s * samples_per_shard))
            for s in range(num_shards)
        ])
    index.update(extra)
    return index


def save_index(store_dir: str, index: Dict[str, Any]) -> str:
    """Validate and write ``index.json`` atomically (written last: its
    presence means the store is complete)."""
    from ssld_mm.utils.fileio import write_json_atomic
    _validate_index(index, store_dir)
    path = osp.join(store_dir, INDEX_FILE)
    write_json_atomic(path, index)
    return path


def _validate_index(index: Dict[str, Any], where: str) -> None:
    if not isinstance(index, dict):
        raise ValueError(f'{where}: {INDEX_FILE} must hold a JSON object')
    if index.get('format') != FORMAT:
        raise ValueError(f'{where}: not a soft-label store ({INDEX_FILE} has '
                         f'format {index.get("format")!r}, expected {FORMAT!r})')
    if index.get('format_version') != FORMAT_VERSION:
        raise ValueError(f'{where}: store format version '
                         f'{index.get("format_version")!r}, this ssld_mm reads '
                         f'version {FORMAT_VERSION}')
    missing = [k for k in INDEX_KEYS if k not in index]
    if missing:
        raise ValueError(f'{where}: {INDEX_FILE} lacks the keys {missing}')
    for key in ('num_samples', 'num_views', 'topk', 'num_classes', 'samples_per_shard',
                'seed'):
        v = index[key]
        if not isinstance(v, int) or isinstance(
                v, bool) or v < (0 if key in ('num_samples', 'seed') else 1):
            raise ValueError(f'{where}: {INDEX_FILE} {key}={v!r} is invalid')
    if index['topk'] > index['num_classes']:
        raise ValueError(f'{where}: topk={index["topk"]} > num_classes='
                         f'{index["num_classes"]}')
    normalize_crop_size(index['crop_size'])
    expected = -(-index['num_samples'] // index['samples_per_shard'])
    if not isinstance(index['shards'], list) or len(index['shards']) != expected:
        raise ValueError(f'{where}: {INDEX_FILE} lists '
                         f'{len(index["shards"])} shards, expected {expected} '
                         f'for {index["num_samples"]} samples at '
                         f'{index["samples_per_shard"]} per shard')


# ------------------------------------------------------------------- reading
def _map_npz(path: str) -> Optional[Tuple[mmap.mmap, Dict[str, np.ndarray]]]:
    """Memory-map every array of an uncompressed ``.npz`` (one mmap per
    file). Returns None if a member is compressed (then load it normally)."""
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
    if any(i.compress_type != zipfile.ZIP_STORED for i in infos):
        return None
    with open(path, 'rb') as f:
        mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        arrays = {}
        for info in infos:
            f.seek(info.header_offset)
            local = f.read(30)
            if local[:4] != b'PK\x03\x04':
                raise ValueError(f'{path}: corrupt zip member {info.filename}')
            name_len, extra_len = struct.unpack('<HH', local[26:30])
            f.seek(info.header_offset + 30 + name_len + extra_len)
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
            else:
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
            if dtype.hasobject:
                raise ValueError(f'{path}: {info.filename} holds objects')
            count = int(np.prod(shape, dtype=np.int64))
            arrays[info.filename[:-4]] = np.ndarray(
                shape, dtype, buffer=mm, offset=f.tell(),
                order='F' if fortran else 'C') if count else np.zeros(shape, dtype)
    return mm, arrays


def _index_int(key: str, doc: str) -> property:
    """A read-only integer attribute of the store: ``index.json[key]``."""

    def get(self: 'SoftLabelStore') -> int:
        return int(self.index[key])

    return property(get, doc=doc)


class SoftLabelStore:
    """Read a soft-label store (see the module docstring for the format).

    Args:
        store_dir (str): The store directory.
        max_open_shards (int): Shards kept memory-mapped at a time (least
            recently used ones are closed). Defaults to 16.

    Raises:
        FileNotFoundError: If ``store_dir`` or its ``index.json`` is missing
            (an unfinished generation writes the index last).
        ValueError: If the index is invalid or a shard file is missing (the
            message names it).

    Example:
        >>> store = SoftLabelStore('work_dirs/soft_labels')
        >>> store.check_matches('data/train_list.txt', 1281167, 224)
        >>> v = store.views(0)   # arrays of the M views of sample 0
        >>> v['box'][select_view(0, epoch, store.seed, store.num_views)]
    """

    def __init__(self, store_dir: str, max_open_shards: int = 16) -> None:
        if not osp.isdir(store_dir):
            raise FileNotFoundError(f'soft-label store {store_dir!r} does not exist')
        path = osp.join(store_dir, INDEX_FILE)
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'soft-label store {store_dir!r} has no {INDEX_FILE}: the '
                'generation has not finished (re-run the same '
                'generate_soft_labels.py command to resume it)')
        if max_open_shards < 1:
            raise ValueError(f'max_open_shards must be >= 1, got '
                             f'{max_open_shards}')
        with open(path, encoding='utf-8') as f:
            try:
                index = json.load(f)
            except json.JSONDecodeError as e:
                raise ValueError(f'{path} is not valid JSON: {e}') from None
        _validate_index(index, store_dir)
        missing = [
            s['file'] for s in index['shards']
            if not osp.isfile(osp.join(store_dir, s['file']))
        ]
        if missing:
            raise ValueError(
                f'soft-label store {store_dir!r} is missing {len(missing)} of '
                f'{len(index["shards"])} shards: {missing[:10]}'
                f'{" ..." if len(missing) > 10 else ""} (copied incompletely? '
                'regenerate them with the same generate_soft_labels.py command '
                'after deleting index.json)')
        self.store_dir = store_dir
        self.index = index
        self.max_open_shards = int(max_open_shards)
        self._open: 'OrderedDict[int, Dict[str, np.ndarray]]' = OrderedDict()
        self._maps: Dict[int, Any] = {}

    # ---------------------------------------------------------- attributes
    num_views = _index_int('num_views', 'M: stored views per sample.')
    topk = _index_int('topk', 'K: stored probabilities per view.')
    num_classes = _index_int('num_classes', 'Number of classes of the teacher.')
    seed = _index_int('seed', 'Seed of the view sampling (view selection default).')
    num_samples = _index_int('num_samples', 'Entries of the list it was made from.')

    @property
    def crop_size(self) -> Tuple[int, int]:
        """``(h, w)`` of the student's crops the views were drawn for."""
        return normalize_crop_size(self.index['crop_size'])

    def __len__(self) -> int:
        return self.num_samples

    def __repr__(self) -> str:
        return (f'{type(self).__name__}({self.store_dir!r}, samples='
                f'{self.num_samples}, M={self.num_views}, K={self.topk}, '
                f'classes={self.num_classes}, crop={self.crop_size})')

    # ---------------------------------------------------------- checks
    def check_matches(self, list_path: str, num_lines: int,
                      crop_size: CropSize) -> None:
        """Stop a run whose training set is not the one the store describes.

        Args:
            list_path (str): The training image list.
            num_lines (int): Its number of entries (the dataset length).
            crop_size (int | tuple): The train pipeline's crop size
                (``RandomResizedCrop.scale``), int or ``(h, w)``.

        Raises:
            ValueError: On a different entry count, different list contents
                (SHA-1, when the list file exists) or crop size; the message
                names both sides.
        """
        where = f'soft-label store {self.store_dir!r}'
        if int(num_lines) != self.num_samples:
            raise ValueError(
                f'{where} was generated for {self.num_samples} entries of '
                f'{self.index["list_path"]!r}, but the training list '
                f'{list_path!r} has {num_lines}: generate a store for this '
                'list')
        if list_path and osp.isfile(list_path) and self.index.get('list_sha1'):
            from ssld_mm.data_selection.resumable import file_sha1
            sha1 = file_sha1(list_path)
            if sha1 != self.index['list_sha1']:
                raise ValueError(
                    f'{where} was generated from {self.index["list_path"]!r} '
                    f'(SHA-1 {self.index["list_sha1"]}), but the training list '
                    f'{list_path!r} has other contents (SHA-1 {sha1}) with the '
                    'same number of entries: the stored views would belong to '
                    'other images')
        size = normalize_crop_size(crop_size)
        if size != self.crop_size:
            raise ValueError(
                f'{where} holds views for crops of {self.crop_size} (h, w), '
                f'but the train pipeline crops to {size}')

    # ---------------------------------------------------------- access
    def _shard(self, shard_id: int) -> Dict[str, np.ndarray]:
        arrays = self._open.get(shard_id)
        if arrays is not None:
            self._open.move_to_end(shard_id)
            return arrays
        path = osp.join(self.store_dir, self.index['shards'][shard_id]['file'])
        mapped = _map_npz(path)
        if mapped is None:  # compressed by someone else: load it whole
            with np.load(path, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
        else:
            self._maps[shard_id], arrays = mapped
        missing = sorted(set(SHARD_ARRAYS) - set(arrays))
        if missing:
            raise ValueError(f'{path} lacks the arrays {missing}')
        self._open[shard_id] = arrays
        while len(self._open) > self.max_open_shards:
            old = next(iter(self._open))
            del self._open[old]
            mm = self._maps.pop(old, None)
            if mm is not None:
                try:
                    mm.close()
                except BufferError:  # a caller still holds a view; GC closes it
                    pass
        return arrays

    def _rows(self, sample_idx: int) -> Tuple[Dict[str, np.ndarray], int, int]:
        if not isinstance(sample_idx, (int, np.integer)) or not \
                0 <= sample_idx < self.num_samples:
            raise IndexError(f'sample_idx {sample_idx!r} out of range '
                             f'[0, {self.num_samples})')
        arrays = self._shard(int(sample_idx) // self.index['samples_per_shard'])
        ids = arrays['sample_idx']
        lo = int(np.searchsorted(ids, sample_idx, side='left'))
        hi = int(np.searchsorted(ids, sample_idx, side='right'))
        return arrays, lo, hi

    def has(self, sample_idx: int) -> bool:
        """Whether the sample has stored views (False for images that could
        not be read at generation, listed in ``skipped.txt``)."""
        _, lo, hi = self._rows(sample_idx)
        return hi > lo

    def views(self, sample_idx: int) -> Dict[str, np.ndarray]:
        """All stored views of a sample, ordered by view number.

        Returns:
            dict: Copies (not memory maps) of ``view (M,)``, ``box (M, 4)``,
            ``flip (M,)``, ``topk_idx (M, K)``, ``topk_prob (M, K)``.

        Raises:
            IndexError: If ``sample_idx`` is outside the list.
            KeyError: If the sample has no stored views (skipped image).
        """
        arrays, lo, hi = self._rows(sample_idx)
        if hi == lo:
            raise KeyError(f'sample {sample_idx} has no views in soft-label store '
                           f'{self.store_dir!r}: its image could not be read at '
                           f'generation (see {SKIPPED_FILE})')
        return {
            k: np.array(arrays[k][lo:hi])
            for k in ('view', 'box', 'flip', 'topk_idx', 'topk_prob')
        }

    def view(self, sample_idx: int, view: int) -> Dict[str, np.ndarray]:
        """One view of a sample: ``box (4,)``, ``flip ()``, ``topk_idx (K,)``,
        ``topk_prob (K,)`` (and ``view``)."""
        v = self.views(sample_idx)
        pos = np.flatnonzero(v['view'] == view)
        if len(pos) != 1:
            raise KeyError(f'sample {sample_idx} has no view {view} '
                           f'(store has M={self.num_views})')
        return {k: a[pos[0]] for k, a in v.items()}

    def close(self) -> None:
        """Unmap all shards."""
        self._open.clear()
        for mm in self._maps.values():
            try:
                mm.close()
            except BufferError:
                pass
        self._maps.clear()

    def __getstate__(self) -> Dict[str, Any]:
        # DataLoader workers (spawn) and pickling: reopen shards lazily.
        state = self.__dict__.copy()
        state['_open'] = OrderedDict()
        state['_maps'] = {}
        return state
