"""Fashion-MNIST for the demo: find the files, unpack them, write the L/U split.

Nothing is downloaded. The standard four Fashion-MNIST files (gzip or already
unpacked) are taken from, in this order:

1. ``$FASHION_MNIST_DIR`` (any folder holding the standard file names);
2. ``/usr/share/datasets/fashion-mnist`` (Debian's ``dataset-fashion-mnist``
   package, which ``make setup`` installs when apt-get is available).

They are unpacked into ``data/fashion_mnist/`` under the names MMPretrain's
``FashionMNIST(download=False)`` reads, and the labeled subset L / unlabeled
pool U index files are written next to them (disjoint, random, seeded).
"""
import gzip
import os
import os.path as osp
import shutil
import struct
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

ENV_VAR = 'FASHION_MNIST_DIR'
SYSTEM_DIR = '/usr/share/datasets/fashion-mnist'
DEFAULT_DATA_ROOT = 'data/fashion_mnist'
LABELED_INDEX_FILE = 'labeled_idx.txt'
UNLABELED_INDEX_FILE = 'unlabeled_idx.txt'

#: Unpacked file name -> (idx magic number, number of samples).
FILES: Dict[str, Tuple[int, int]] = {
    'train-images-idx3-ubyte': (0x0803, 60000),
    'train-labels-idx1-ubyte': (0x0801, 60000),
    't10k-images-idx3-ubyte': (0x0803, 10000),
    't10k-labels-idx1-ubyte': (0x0801, 10000),
}


class DataNotFoundError(FileNotFoundError):
    """Fashion-MNIST is in none of the places the demo looks."""


def _has_all_files(folder: str) -> bool:
    return all(
        osp.isfile(osp.join(folder, name))
        or osp.isfile(osp.join(folder, name + '.gz')) for name in FILES)


def find_source(env: Optional[Dict[str, str]] = None,
                system_dir: str = SYSTEM_DIR) -> str:
    """The folder to take the Fashion-MNIST files from.

    Args:
        env (dict, optional): Environment to read ``FASHION_MNIST_DIR`` from.
            Defaults to ``os.environ``.
        system_dir (str): Where Debian's package puts the files.

    Returns:
        str: ``$FASHION_MNIST_DIR`` if set (it must then hold the files),
        else ``system_dir`` if it holds them.

    Raises:
        DataNotFoundError: Naming both places and how to fill either.
    """
    env = os.environ if env is None else env
    names = ', '.join(FILES)
    custom = env.get(ENV_VAR)
    if custom:
        if _has_all_files(custom):
            return custom
        raise DataNotFoundError(
            f'{ENV_VAR}={custom!r} does not hold the four Fashion-MNIST files '
            f'({names}, optionally .gz).')
    if _has_all_files(system_dir):
        return system_dir
    raise DataNotFoundError(
        'Fashion-MNIST not found. The demo downloads nothing; it looks in\n'
        f'  1. ${ENV_VAR} (not set)\n'
        f'  2. {system_dir} (missing or incomplete)\n'
        'Fix: `apt-get install dataset-fashion-mnist` (Debian/Ubuntu; what '
        '`make setup` tries), or put the standard files '
        f'({names}, .gz or unpacked) in a folder and set {ENV_VAR} to it.')


def read_idx_header(path: str) -> Tuple[int, int]:
    """``(magic, number of items)`` of an unpacked idx file."""
    with open(path, 'rb') as f:
        head = f.read(8)
    if len(head) < 8:
        raise ValueError(f'{path}: not an idx file (shorter than 8 bytes)')
    return struct.unpack('>II', head)


def _check_idx(path: str, magic: int, count: Optional[int]) -> None:
    got_magic, got_count = read_idx_header(path)
    if got_magic != magic:
        raise ValueError(f'{path}: idx magic {got_magic:#06x}, expected '
                         f'{magic:#06x}')
    if count is not None and got_count != count:
        raise ValueError(f'{path}: {got_count} items, expected {count}')


def prepare_fashion_mnist(data_root: str = DEFAULT_DATA_ROOT,
                          source: Optional[str] = None,
                          check_counts: bool = True) -> List[str]:
    """Unpack the Fashion-MNIST files into ``data_root`` (idempotent).

    A file already present (with the right idx header) is kept. ``.gz`` files
    are unpacked, unpacked ones copied.

    Args:
        data_root (str): Target folder (MMPretrain's ``data_root``).
        source (str, optional): Source folder. Defaults to :func:`find_source`.
        check_counts (bool): Require the official sizes (60000/10000).
            Tests with small fake files turn it off.

    Returns:
        list[str]: The files written now (empty when all were present).
    """
    written = []
    todo = [
        name for name in FILES
        if not _is_valid(osp.join(data_root, name), name, check_counts)
    ]
    if not todo:
        return written
    source = find_source() if source is None else source
    os.makedirs(data_root, exist_ok=True)
    for name in todo:
        dst = osp.join(data_root, name)
        tmp = dst + '.part'
        plain, packed = osp.join(source, name), osp.join(source, name + '.gz')
        if osp.isfile(plain):
            shutil.copyfile(plain, tmp)
        elif osp.isfile(packed):
            with gzip.open(packed, 'rb') as fin, open(tmp, 'wb') as fout:
                shutil.copyfileobj(fin, fout)
        else:
            raise DataNotFoundError(f'{source} has neither {name} nor {name}.gz')
        magic, count = FILES[name]
        _check_idx(tmp, magic, count if check_counts else None)
        os.replace(tmp, dst)
        written.append(dst)
    return written


def _is_valid(path: str, name: str, check_counts: bool) -> bool:
    if not osp.isfile(path):
        return False
    magic, count = FILES[name]
    try:
        _check_idx(path, magic, count if check_counts else None)
    except ValueError:
        return False
    return True


def write_split(data_root: str,
                num_labeled: int,
                num_unlabeled: int,
                num_train: Optional[int] = None,
                seed: int = 0) -> Tuple[str, str]:
    """Write the labeled subset L and the unlabeled pool U index files.

    L is ``num_labeled`` random training images; U is ``num_unlabeled``
    random images of the rest (``-1``: all the rest). Disjoint, sorted,
    deterministic for a seed. The files are rewritten only when their content
    would change.

    Args:
        data_root (str): Folder holding ``train-labels-idx1-ubyte``; the index
            files go there.
        num_labeled (int): Size of L.
        num_unlabeled (int): Size of U, ``-1`` for all remaining images.
        num_train (int, optional): Number of training images; read from the
            label file's header by default.
        seed (int): Seed of the split.

    Returns:
        tuple[str, str]: Paths of the L and U index files.
    """
    from ssld_mm.datasets import save_indices, split_indices
    if num_train is None:
        num_train = read_idx_header(osp.join(data_root, 'train-labels-idx1-ubyte'))[1]
    if not 0 < num_labeled < num_train:
        raise ValueError(f'num_labeled must be in [1, {num_train - 1}], got '
                         f'{num_labeled}')
    rest = num_train - num_labeled
    if num_unlabeled == -1:
        num_unlabeled = rest
    if not 0 <= num_unlabeled <= rest:
        raise ValueError(f'num_unlabeled must be -1 or in [0, {rest}] '
                         f'(training images not in L), got {num_unlabeled}')
    labeled, others = split_indices(num_train, num_labeled, seed=seed)
    rng = np.random.default_rng(seed + 1)
    unlabeled = np.sort(rng.permutation(others)[:num_unlabeled])
    paths = []
    for name, indices in ((LABELED_INDEX_FILE, labeled), (UNLABELED_INDEX_FILE,
                                                          unlabeled)):
        path = osp.join(data_root, name)
        if not _same_indices(path, indices):
            save_indices(path, indices)
        paths.append(path)
    return paths[0], paths[1]


def _same_indices(path: str, indices: Sequence[int]) -> bool:
    if not osp.isfile(path):
        return False
    try:
        old = np.loadtxt(path, dtype=np.int64, ndmin=1)
    except ValueError:
        return False
    return old.shape == np.shape(indices) and bool(np.all(old == indices))


def write_fake_fashion_mnist(root: str,
                             n_train: int = 600,
                             n_test: int = 200,
                             seed: int = 0,
                             gzip_files: bool = False) -> str:
    """Write small, learnable Fashion-MNIST-format files (tests, smoke runs).

    The mean grey level of an image encodes its class (``25 * c + 10``, plus
    noise), which survives the demo's crops and flips, so tiny CNNs separate
    the classes within a few iterations.

    Args:
        root (str): Output folder.
        n_train (int): Number of training images.
        n_test (int): Number of test images.
        seed (int): Noise seed.
        gzip_files (bool): Write ``.gz`` files (as Debian ships them).

    Returns:
        str: ``root``.
    """
    rng = np.random.default_rng(seed)
    os.makedirs(root, exist_ok=True)
    for prefix, n in (('train', n_train), ('t10k', n_test)):
        labels = rng.integers(0, 10, n).astype(np.uint8)
        noise = rng.integers(-10, 11, (n, 28, 28))
        images = (25 * labels[:, None, None].astype(np.int64) + 10 + noise)
        images = images.clip(0, 255).astype(np.uint8)
        payloads = {
            f'{prefix}-images-idx3-ubyte':
            struct.pack('>IIII', 0x0803, n, 28, 28) + images.tobytes(),
            f'{prefix}-labels-idx1-ubyte':
            struct.pack('>II', 0x0801, n) + labels.tobytes(),
        }
        for name, payload in payloads.items():
            if gzip_files:
                with gzip.open(osp.join(root, name + '.gz'), 'wb') as f:
                    f.write(payload)
            else:
                with open(osp.join(root, name), 'wb') as f:
                    f.write(payload)
    return root


STORED_LIST_FILE = 'lu_png_list.txt'
PNG_DIR = 'png'


def write_png_list(data_root: str,
                   labeled_idx: str,
                   unlabeled_idx: str,
                   list_name: str = STORED_LIST_FILE) -> str:
    """Write the images of L then U as PNG files and their image list.

    The stored-teacher run trains from an image list (``ImageListDataset``,
    whose entries are the ``sample_idx`` of the soft-label store); its entries
    are the images of the online L + U run, in the same order, without
    labels. Idempotent: PNGs and the list are rewritten only when missing or
    different.

    Args:
        data_root (str): Folder with ``train-images-idx3-ubyte``; the PNGs go
            to ``data_root/png/train_XXXXX.png``.
        labeled_idx (str): Index file of L.
        unlabeled_idx (str): Index file of U.
        list_name (str): File name of the list in ``data_root``.

    Returns:
        str: Path of the list (lines ``png/train_XXXXX.png``, relative to
        ``data_root``).
    """
    import cv2

    from ssld_mm.datasets import load_indices
    path = osp.join(data_root, 'train-images-idx3-ubyte')
    magic, n = read_idx_header(path)
    if magic != 0x0803:
        raise ValueError(f'{path}: idx magic {magic:#06x}, expected 0x0803')
    with open(path, 'rb') as f:
        rows, cols = struct.unpack('>II', f.read(16)[8:16])
        images = np.frombuffer(f.read(n * rows * cols), np.uint8).reshape(n, rows, cols)
    order = np.concatenate(
        [load_indices(labeled_idx, n),
         load_indices(unlabeled_idx, n)]).astype(np.int64)
    os.makedirs(osp.join(data_root, PNG_DIR), exist_ok=True)
    lines = []
    for i in order.tolist():
        rel = f'{PNG_DIR}/train_{i:05d}.png'
        dst = osp.join(data_root, rel)
        if not osp.isfile(dst):
            tmp = dst[:-4] + '.part.png'
            cv2.imwrite(tmp, images[i])
            os.replace(tmp, dst)
        lines.append(rel)
    text = '\n'.join(lines) + '\n'
    list_path = osp.join(data_root, list_name)
    if not osp.isfile(list_path) or open(list_path).read() != text:
        with open(list_path + '.part', 'w', encoding='utf-8') as f:
            f.write(text)
        os.replace(list_path + '.part', list_path)
    return list_path
