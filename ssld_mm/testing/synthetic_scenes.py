"""Synthetic textured scenes and near-duplicate copies of them.

Used by the tests and the benchmarks of :mod:`ssld_mm.data_selection`: real
near-duplicate data sets are large and licensed, while these scenes are made in
milliseconds, have enough SIFT keypoints (about 300-600 at 256 px) and come
with exact ground truth. A *class* fixes the colour palette, the background
texture statistics and the mix of shape kinds; two scenes of the same class
share all of that but no geometry, which is what "different photos of the same
class" look like to a local-feature matcher.
"""
from typing import Callable, Dict, Tuple

import cv2
import numpy as np

_FONTS = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_COMPLEX,
          cv2.FONT_HERSHEY_TRIPLEX)
_LETTERS = 'ABCDEFGHJKLMNPQRSTUVWXYZ0123456789'


def make_scene(seed: int,
               cls: int = 0,
               size: Tuple[int, int] = (256, 256)) -> np.ndarray:
    """Draw a textured scene (BGR uint8).

    Args:
        seed (int): Seed of the scene's geometry (positions, sizes, text).
        cls (int): Class id; fixes palette, texture and shape mix.
        size (tuple[int, int]): ``(height, width)``. Defaults to (256, 256).

    Returns:
        np.ndarray: ``(H, W, 3)`` uint8 image.
    """
    h, w = size
    crng = np.random.default_rng(10_000 + cls)
    palette = crng.integers(0, 256, (8, 3))
    shape_p = crng.dirichlet(np.ones(6))
    grain = float(crng.uniform(0.8, 2.0))
    rng = np.random.default_rng(seed * 7919 + cls)

    low = rng.normal(0, 1, (h // 24 + 2, w // 24 + 2, 3))
    bg = cv2.resize(low, (w, h), interpolation=cv2.INTER_CUBIC)
    bg = (bg - bg.min()) / (np.ptp(bg) + 1e-6)
    img = palette[0] * 0.6 + bg * 90
    img = img + cv2.GaussianBlur(rng.normal(0, 20, (h, w, 3)), (0, 0), grain)
    img = np.ascontiguousarray(img.clip(0, 255).astype(np.uint8))

    scale = min(h, w)
    for _ in range(int(rng.integers(45, 70))):
        col = palette[rng.integers(1, 8)] + rng.integers(-40, 40, 3)
        col = tuple(int(c) for c in col.clip(0, 255))
        kind = rng.choice(6, p=shape_p)
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        s = int(rng.integers(scale // 40 + 4, scale // 6 + 6))
        th = int(rng.choice([-1, 1, 2, 3]))
        if kind == 0:
            cv2.rectangle(img, (x, y), (x + s, y + int(rng.integers(4, s + 5))), col,
                          th)
        elif kind == 1:
            cv2.circle(img, (x, y), max(s // 2, 2), col, th)
        elif kind == 2:
            cv2.ellipse(img, (x, y), (max(s // 2, 2), int(rng.integers(2, s // 2 + 3))),
                        float(rng.uniform(0, 180)), 0, 360, col, th)
        elif kind == 3:
            n = int(rng.integers(3, 7))
            pts = (rng.integers(-s, s + 1, (n, 2)) + [x, y]).astype(np.int32)
            if th < 0:
                cv2.fillPoly(img, [pts], col)
            else:
                cv2.polylines(img, [pts], True, col, th)
        elif kind == 4:
            cv2.line(
                img, (x, y),
                (x + int(rng.integers(-s, s + 1)), y + int(rng.integers(-s, s + 1))),
                col, max(th, 1))
        else:
            text = ''.join(rng.choice(list(_LETTERS), int(rng.integers(1, 4))))
            cv2.putText(img, text, (x, y), _FONTS[int(rng.integers(0, 4))],
                        float(rng.uniform(0.4, 1.2)) * scale / 256, col, max(th, 1),
                        cv2.LINE_AA)
    return img


def _resize(img, rng):
    f = float(rng.uniform(0.5, 0.8)) if rng.random() < 0.5 else float(
        rng.uniform(1.2, 1.6))
    return cv2.resize(img, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)


def _crop(img, rng, min_area: float = 0.6):
    h, w = img.shape[:2]
    area = float(rng.uniform(min_area, 0.8))
    aspect = float(rng.uniform(0.85, 1.15))
    ch = min(h, int(round(h * np.sqrt(area * aspect))))
    cw = min(w, int(round(area * h * w / ch)))
    y0 = int(rng.integers(0, h - ch + 1))
    x0 = int(rng.integers(0, w - cw + 1))
    return np.ascontiguousarray(img[y0:y0 + ch, x0:x0 + cw])


def _jpeg(img, rng):
    quality = int(rng.integers(25, 50))
    ok, buf = cv2.imencode('.jpg', img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)


def _flip(img, rng):
    return np.ascontiguousarray(img[:, ::-1])


def _colour(img, rng):
    hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV).astype(np.int16)
    hsv[..., 0] = (hsv[..., 0] + int(rng.integers(5, 12))) % 180
    hsv[..., 1] = (hsv[..., 1] * float(rng.uniform(0.8, 1.2))).clip(0, 255)
    hsv[..., 2] = (hsv[..., 2] * float(rng.uniform(0.85, 1.15)) +
                   int(rng.integers(-15, 16))).clip(0, 255)
    return cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2BGR)


#: Near-duplicate transforms by name; ``combo`` chains crop, flip, colour, JPEG.
TRANSFORMS: Dict[str, Callable] = {
    'resize': _resize,
    'crop': _crop,
    'jpeg': _jpeg,
    'flip': _flip,
    'colour': _colour,
    'combo': lambda img, rng: _jpeg(_colour(_flip(_crop(img, rng), rng), rng), rng),
}


def near_duplicate(img: np.ndarray, kind: str, seed: int = 0) -> np.ndarray:
    """A transformed copy of ``img``.

    Args:
        img (np.ndarray): BGR uint8 image.
        kind (str): One of :data:`TRANSFORMS`: ``'resize'`` (x0.5-0.8 or
            x1.2-1.6), ``'crop'`` (60-80% of the area), ``'jpeg'`` (quality
            25-50), ``'flip'`` (horizontal), ``'colour'`` (hue, saturation and
            brightness shift) or ``'combo'``.
        seed (int): Seed of the transform's parameters.

    Returns:
        np.ndarray: The copy (BGR uint8).
    """
    if kind not in TRANSFORMS:
        raise ValueError(f'kind must be one of {sorted(TRANSFORMS)}, got {kind!r}')
    return TRANSFORMS[kind](img, np.random.default_rng(seed))
