"""A tiny COCO-format detection set made from real images, for tests and demos.

Fashion-MNIST items (28x28 grey clothes on black) are scaled up, tinted and
pasted, without overlap, on noisy canvases; the box of each object is the
exact pixel extent of the pasted item, so the annotations carry no labelling
noise. The result is laid out the way MMDetection's COCO configs read it::

    <root>/annotations/instances_train2017.json
    <root>/annotations/instances_val2017.json
    <root>/train2017/000000000000.png ...
    <root>/val2017/000000000000.png ...

Nothing is downloaded. The Fashion-MNIST files are read from
``$FASHION_MNIST_DIR`` or ``/usr/share/datasets/fashion-mnist`` (Debian's
``dataset-fashion-mnist``, which ``make setup`` installs). When neither holds
them, synthetic shapes (filled rectangle / ellipse / triangle) are drawn
instead, with a warning, and the returned info says ``source='synthetic'``.

Example:
    >>> from ssld_mm.testing import make_coco_toy
    >>> info = make_coco_toy('data/coco_toy', num_train=16, num_val=8)
    >>> info['classes']
    ('trouser', 'sneaker', 'bag')
"""
import gzip
import json
import os
import os.path as osp
import struct
import warnings
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

FASHION_MNIST_ENV = 'FASHION_MNIST_DIR'
FASHION_MNIST_SYSTEM_DIR = '/usr/share/datasets/fashion-mnist'
FASHION_MNIST_CLASSES = ('t-shirt', 'trouser', 'pullover', 'dress', 'coat', 'sandal',
                         'shirt', 'sneaker', 'bag', 'ankle-boot')
#: Default classes: three shapes that are easy to tell apart at low resolution.
DEFAULT_CLASSES = ('trouser', 'sneaker', 'bag')
SYNTHETIC_CLASSES = ('rectangle', 'ellipse', 'triangle')
_SPLITS = (('train2017', 'train-images-idx3-ubyte', 'train-labels-idx1-ubyte'),
           ('val2017', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'))
# Items read from each Fashion-MNIST file: enough for a few hundred objects
# of any 3 classes, and only a prefix of the file is decompressed.
_ITEMS_READ = 3000


def find_fashion_mnist(env: Optional[Dict[str, str]] = None,
                       system_dir: Optional[str] = None) -> Optional[str]:
    """The folder holding the four Fashion-MNIST files, or None.

    Args:
        env (dict, optional): Environment to read ``FASHION_MNIST_DIR`` from.
            Defaults to ``os.environ``.
        system_dir (str, optional): Where Debian's package puts the files.
            Defaults to ``FASHION_MNIST_SYSTEM_DIR``.

    Returns:
        str | None: ``$FASHION_MNIST_DIR`` if it holds the files, else
        ``system_dir`` if that does, else None.
    """
    env = os.environ if env is None else env
    system_dir = FASHION_MNIST_SYSTEM_DIR if system_dir is None else system_dir
    for folder in (env.get(FASHION_MNIST_ENV), system_dir):
        if folder and all(
                _idx_path(folder, name) is not None for _, img, lbl in _SPLITS
                for name in (img, lbl)):
            return folder
    return None


def _idx_path(folder: str, name: str) -> Optional[str]:
    for candidate in (osp.join(folder, name), osp.join(folder, name + '.gz')):
        if osp.isfile(candidate):
            return candidate
    return None


def _read_idx(path: str, count: int) -> np.ndarray:
    """The first ``count`` items of an idx file (plain or gzip)."""
    opener = gzip.open if path.endswith('.gz') else open
    with opener(path, 'rb') as f:
        magic, total = struct.unpack('>II', f.read(8))
        if magic == 0x0803:
            rows, cols = struct.unpack('>II', f.read(8))
            shape: Tuple[int, ...] = (rows, cols)
        elif magic == 0x0801:
            shape = ()
        else:
            raise ValueError(f'{path}: idx magic {magic:#06x}, expected '
                             '0x0803 (images) or 0x0801 (labels)')
        count = min(count, total)
        size = int(np.prod(shape)) if shape else 1
        data = np.frombuffer(f.read(count * size), dtype=np.uint8)
    if data.size != count * size:
        raise ValueError(f'{path}: truncated, expected {count} items')
    return data.reshape((count, *shape))


def _load_items(folder: str, split_index: int,
                class_ids: Sequence[int]) -> Dict[int, np.ndarray]:
    """Fashion-MNIST images per wanted class id."""
    _, img_name, lbl_name = _SPLITS[split_index]
    images = _read_idx(_idx_path(folder, img_name), _ITEMS_READ)
    labels = _read_idx(_idx_path(folder, lbl_name), _ITEMS_READ)
    return {c: images[labels == c] for c in class_ids}


def _synthetic_item(shape_id: int, rng: np.random.Generator) -> np.ndarray:
    """A 28x28 grey mask of a filled rectangle, ellipse or triangle."""
    item = np.zeros((28, 28), np.uint8)
    h, w = rng.integers(12, 27, size=2)
    top, left = (28 - h) // 2, (28 - w) // 2
    yy, xx = np.mgrid[0:h, 0:w]
    if shape_id == 0:
        mask = np.ones((h, w), bool)
    elif shape_id == 1:
        mask = (((yy + 0.5 - h / 2) / (h / 2))**2 + ((xx + 0.5 - w / 2) /
                                                     (w / 2))**2) <= 1
    else:
        mask = np.abs(xx + 0.5 - w / 2) <= (yy + 1) * w / (2 * h)
    item[top:top + h, left:left + w][mask] = int(rng.integers(150, 256))
    return item


def _paste_objects(canvas: np.ndarray, items: List[Tuple[int, np.ndarray]],
                   rng: np.random.Generator,
                   scale_range: Tuple[int, int]) -> List[Tuple[int, List[float]]]:
    """Paste items at random free places; return (label, xywh box) pairs."""
    import cv2
    height, width = canvas.shape[:2]
    occupied = np.zeros((height, width), bool)
    placed = []
    for label, item in items:
        side = int(rng.integers(scale_range[0], scale_range[1] + 1))
        side = min(side, height, width)
        big = cv2.resize(item, (side, side), interpolation=cv2.INTER_LINEAR)
        ys, xs = np.nonzero(big > 0)
        if ys.size == 0:
            continue
        crop = big[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
        ch, cw = crop.shape
        for _ in range(20):  # a free place, or skip the item
            y = int(rng.integers(0, height - ch + 1))
            x = int(rng.integers(0, width - cw + 1))
            if not occupied[y:y + ch, x:x + cw].any():
                break
        else:
            continue
        occupied[max(y - 2, 0):y + ch + 2, max(x - 2, 0):x + cw + 2] = True
        tint = rng.uniform(0.6, 1.0, size=3)
        alpha = crop.astype(np.float32)[..., None] / 255.
        region = canvas[y:y + ch, x:x + cw].astype(np.float32)
        region = region * (1 - alpha) + alpha * 255. * tint
        canvas[y:y + ch, x:x + cw] = np.clip(region + 0.5, 0, 255).astype(np.uint8)
        # The crop is tight on nonzero pixels (its first/last rows/columns
        # hold some), so the pixel extent is exactly [x, x + cw) x [y, y + ch).
        placed.append((label, [float(x), float(y), float(cw), float(ch)]))
    return placed


def make_coco_toy(root: str,
                  num_train: int = 16,
                  num_val: int = 8,
                  image_size: Union[int, Tuple[int, int]] = 160,
                  objects_per_image: Tuple[int, int] = (1, 3),
                  object_size: Tuple[int, int] = (40, 72),
                  classes: Sequence[str] = DEFAULT_CLASSES,
                  seed: int = 0,
                  source: Optional[str] = None) -> dict:
    """Write a small COCO-format detection set under ``root``.

    Deterministic for a given seed and source. Train objects come from
    Fashion-MNIST's training file, val objects from its test file.

    Args:
        root (str): Output folder (MMDetection's ``data_root``).
        num_train (int): Number of training images.
        num_val (int): Number of validation images.
        image_size (int | tuple[int, int]): Canvas ``(width, height)``, or one
            side of a square canvas.
        objects_per_image (tuple[int, int]): Inclusive range of objects per
            image (objects that find no free place are dropped).
        object_size (tuple[int, int]): Inclusive range of the side the 28x28
            item is scaled to before its blank border is cropped.
        classes (Sequence[str]): Fashion-MNIST class names to use (see
            ``FASHION_MNIST_CLASSES``). Ignored for synthetic shapes.
        seed (int): Random seed.
        source (str, optional): Folder holding the Fashion-MNIST files; found
            with :func:`find_fashion_mnist` by default. ``'synthetic'`` forces
            the synthetic shapes.

    Returns:
        dict: ``root``, ``classes`` (tuple, in category-id order), ``source``
        (the Fashion-MNIST folder or ``'synthetic'``), ``ann_files`` and
        ``img_dirs`` (per split, relative to ``root``), ``num_objects`` per split.

    Raises:
        ValueError: On a bad size, count or class name.
    """
    if isinstance(image_size, int):
        image_size = (image_size, image_size)
    width, height = image_size
    if min(num_train, num_val) < 1:
        raise ValueError(f'num_train and num_val must be >= 1, got '
                         f'{num_train}, {num_val}')
    lo, hi = objects_per_image
    if not 1 <= lo <= hi:
        raise ValueError(f'objects_per_image must be (lo, hi) with '
                         f'1 <= lo <= hi, got {objects_per_image}')
    if not 8 <= object_size[0] <= object_size[1] <= min(width, height):
        raise ValueError(f'object_size must be (lo, hi) with 8 <= lo <= hi <= '
                         f'{min(width, height)} (the canvas side), got '
                         f'{object_size}')
    unknown = [c for c in classes if c not in FASHION_MNIST_CLASSES]
    if unknown or not classes:
        raise ValueError(f'classes must be a non-empty subset of '
                         f'{FASHION_MNIST_CLASSES}, got unknown {unknown}')

    if source is None:
        source = find_fashion_mnist()
        if source is None:
            warnings.warn('Fashion-MNIST not found (set $FASHION_MNIST_DIR or install '
                          f'dataset-fashion-mnist into {FASHION_MNIST_SYSTEM_DIR}); '
                          'the COCO toy set uses synthetic shapes instead.')
            source = 'synthetic'
    synthetic = source == 'synthetic'
    names = SYNTHETIC_CLASSES if synthetic else tuple(classes)
    class_ids = [FASHION_MNIST_CLASSES.index(c) for c in names] \
        if not synthetic else list(range(len(names)))

    rng = np.random.default_rng(seed)
    info = dict(
        root=root,
        classes=names,
        source=source,
        ann_files={},
        img_dirs={},
        num_objects={})
    for split_index, num_images in enumerate((num_train, num_val)):
        split = _SPLITS[split_index][0]
        pool = None if synthetic else _load_items(source, split_index, class_ids)
        images, annotations = _write_split(
            osp.join(root, split), num_images, (width, height), (lo, hi), object_size,
            len(names), pool, class_ids, rng)
        ann_file = osp.join('annotations', f'instances_{split}.json')
        coco = dict(
            images=images,
            annotations=annotations,
            categories=[dict(id=i + 1, name=n) for i, n in enumerate(names)])
        os.makedirs(osp.join(root, 'annotations'), exist_ok=True)
        with open(osp.join(root, ann_file), 'w') as f:
            json.dump(coco, f)
        info['ann_files'][split] = ann_file
        info['img_dirs'][split] = split + '/'
        info['num_objects'][split] = len(annotations)
    return info


def _write_split(img_dir: str, num_images: int, size: Tuple[int, int],
                 per_image: Tuple[int, int], object_size: Tuple[int,
                                                                int], num_classes: int,
                 pool: Optional[Dict[int, np.ndarray]], class_ids: List[int],
                 rng: np.random.Generator) -> Tuple[List[dict], List[dict]]:
    import cv2
    os.makedirs(img_dir, exist_ok=True)
    width, height = size
    images, annotations = [], []
    for image_id in range(num_images):
        canvas = rng.integers(0, 60, size=(height, width, 3), dtype=np.uint8)
        items = []
        for _ in range(int(rng.integers(per_image[0], per_image[1] + 1))):
            label = int(rng.integers(num_classes))
            if pool is None:
                item = _synthetic_item(label, rng)
            else:
                candidates = pool[class_ids[label]]
                item = candidates[int(rng.integers(len(candidates)))]
            items.append((label, item))
        file_name = f'{image_id:012d}.png'
        for label, box in _paste_objects(canvas, items, rng, object_size):
            annotations.append(
                dict(
                    id=len(annotations) + 1,
                    image_id=image_id,
                    category_id=label + 1,
                    bbox=box,
                    area=box[2] * box[3],
                    iscrowd=0))
        cv2.imwrite(osp.join(img_dir, file_name), canvas)
        images.append(
            dict(id=image_id, file_name=file_name, width=width, height=height))
    return images, annotations
