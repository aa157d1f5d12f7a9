"""Bad images in an image list: diagnosis, budget, replacement and report.

Helpers of :class:`~ssld_mm.datasets.ImageListDataset` ``on_bad_image='skip'``
(and of the pixel limit in both modes). A *bad image* is one the data cannot
be blamed on the pipeline for: a missing or empty file, bytes no decoder
reads (truncated, not an image), or more pixels than ``max_image_pixels``
(a decompression bomb is refused from its header, before decoding).
"""
import math
import os
import os.path as osp
import warnings
from typing import Dict, Optional, Union

import numpy as np

BAD_IMAGE_REPORT = 'bad_images.txt'


def image_size(path: str) -> Optional[tuple]:
    """``(width, height)`` from the image header (no decoding), or ``None``
    when the header cannot be read (left to the decoder to judge)."""
    from PIL import Image
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            with Image.open(path) as im:
                return im.size
    except Image.DecompressionBombError as e:  # PIL refuses > 2x its own limit
        import re
        m = re.search(r'\((\d+) pixels\)', str(e))
        return (int(m.group(1)), 1) if m else (1 << 62, 1)
    except Exception:  # noqa: BLE001 - unreadable header: the decoder decides
        return None


def too_many_pixels(path: str, limit: Optional[int]) -> Optional[str]:
    """The reason when a local image has more than ``limit`` pixels, else None."""
    if limit is None or not osp.isfile(path):
        return None
    size = image_size(path)
    if size is not None and size[0] * size[1] > limit:
        return (f'too many pixels: {size[0]}x{size[1]} = {size[0] * size[1]} > '
                f'max_image_pixels={limit}')
    return None


def diagnose_image(path: str) -> Optional[str]:
    """Why the image at ``path`` cannot be used, or ``None`` if it decodes.

    ``None`` means the error came from somewhere else (the pipeline), which
    is not a bad image and must not be skipped silently.
    """
    from mmengine.fileio import get
    try:
        data = get(path)
    except FileNotFoundError:
        return 'missing file'
    except Exception as e:  # noqa: BLE001
        return f'unreadable file ({type(e).__name__}: {e})'
    if len(data) == 0:
        return 'empty file (0 bytes)'
    import mmcv
    try:
        img = mmcv.imfrombytes(data, flag='color')
    except Exception as e:  # noqa: BLE001
        return f'decoder error ({type(e).__name__}: {e})'
    if img is None:
        return f'not decodable ({len(data)} bytes: truncated or not an image)'
    return None


def bad_image_budget(max_bad_images: Union[int, float], num_samples: int) -> int:
    """How many distinct bad images a list may have: a count, or a fraction
    of ``num_samples`` (rounded down).

    Raises:
        ValueError: For a negative count, or a fraction outside ``[0, 1)``.
    """
    if isinstance(max_bad_images, bool) or not isinstance(max_bad_images, (int, float)):
        raise TypeError('max_bad_images must be a count (int) or a fraction '
                        f'(float in [0, 1)), got {max_bad_images!r}')
    if isinstance(max_bad_images, int):
        if max_bad_images < 0:
            raise ValueError(f'max_bad_images must be >= 0, got {max_bad_images}')
        return max_bad_images
    if not 0.0 <= max_bad_images < 1.0:
        raise ValueError('a fractional max_bad_images must be in [0, 1), got '
                         f'{max_bad_images}')
    return int(math.floor(max_bad_images * num_samples))


def replacement_index(idx: int, attempt: int, num_samples: int) -> int:
    """The sample that stands in for bad sample ``idx`` at try ``attempt``.

    A function of ``(idx, attempt)`` only: the same on every rank, worker and
    epoch, so a resumed run sees the same data as an uninterrupted one.
    """
    rng = np.random.default_rng([int(idx), int(attempt), 0x55D1D])
    j = int(rng.integers(num_samples - 1)) if num_samples > 1 else 0
    return j + 1 if num_samples > 1 and j >= idx else j


def append_report(report: str, where: str, path: str, reason: str) -> None:
    """Append one ``list:line<TAB>path<TAB>reason`` line (one ``write`` on an
    ``O_APPEND`` file: lines of concurrent workers and ranks do not mix)."""
    line = f'{where}\t{path}\t{reason}'.replace('\n', ' ') + '\n'
    fd = os.open(report, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, line.encode('utf-8'))
    finally:
        os.close(fd)


def read_report(report: str) -> Dict[str, tuple]:
    """Distinct entries of a report: ``{list:line: (path, reason)}``, first
    occurrence kept."""
    entries: Dict[str, tuple] = {}
    if not osp.isfile(report):
        return entries
    with open(report, encoding='utf-8') as f:
        for line in f:
            parts = line.rstrip('\n').split('\t')
            if len(parts) == 3:
                entries.setdefault(parts[0], (parts[1], parts[2]))
    return entries
