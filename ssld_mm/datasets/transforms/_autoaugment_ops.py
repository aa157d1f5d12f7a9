"""PaddleDetection's AutoAugment operations for detection (not registered).

Ported from the semantics of ``ppdet/data/transform/autoaugment_utils.py``
(itself a port of TensorFlow's ``autoaugment_utils.py`` for the detection
AutoAugment paper): images are ``uint8`` RGB ``(H, W, 3)`` arrays, boxes are
``(N, 4)`` arrays of absolute ``(x1, y1, x2, y2)``, and every box rule
(integer truncation, dropping boxes that leave the image, the 0.05 minimum
extent of a degenerate box) is Paddle's. :class:`DetAutoAugmentV1` converts
MMDetection's BGR images to RGB and back.

Randomness comes from ``np.random`` only (Paddle's ``Sharpness`` draws its
sign from Python's ``random``; here it is ``np.random`` too), so seeding
NumPy makes a run reproducible.
"""
import math
from typing import Callable, Optional, Sequence, Tuple

import numpy as np
from PIL import Image, ImageEnhance, ImageOps

MAX_LEVEL = 10.0
#: Paddle's fill value of empty pixels (``replace``).
REPLACE = (128, 128, 128)

Boxes = np.ndarray  # (N, 4) absolute (x1, y1, x2, y2)
OpResult = Tuple[np.ndarray, Boxes, np.ndarray]  # image, boxes, kept index


# ------------------------------------------------------------ image ops
def blend(image1: np.ndarray, image2: np.ndarray, factor: float) -> np.ndarray:
    """``image1 + factor * (image2 - image1)``: truncated to uint8 when
    interpolating, clipped to [0, 255] when extrapolating (Paddle)."""
    if factor == 0.0:
        return image1
    if factor == 1.0:
        return image2
    temp = image1.astype(np.float32) + factor * (
        image2.astype(np.float32) - image1.astype(np.float32))
    if 0.0 < factor < 1.0:
        return temp.astype(np.uint8)
    return np.clip(temp, 0, 255).astype(np.uint8)


def color(image: np.ndarray, factor: float) -> np.ndarray:
    """Saturation: blend with the grey image. Paddle converts its RGB image
    with OpenCV's ``BGR2GRAY`` weights; so does this (same numbers)."""
    import cv2
    gray = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_BGR2GRAY)
    return blend(cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR), image, factor)


def _pil(image: np.ndarray) -> Image.Image:
    return Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8))


def contrast(image: np.ndarray, factor: float) -> np.ndarray:
    """PIL ``ImageEnhance.Contrast``."""
    return np.array(ImageEnhance.Contrast(_pil(image)).enhance(factor))


def brightness(image: np.ndarray, factor: float) -> np.ndarray:
    """PIL ``ImageEnhance.Brightness``."""
    return np.array(ImageEnhance.Brightness(_pil(image)).enhance(factor))


def sharpness(image: np.ndarray, factor: float) -> np.ndarray:
    """PIL ``ImageEnhance.Sharpness`` with ``1 + factor`` or ``1 - factor``
    (random sign, as Paddle does)."""
    sign = 1.0 if np.random.rand() < 0.5 else -1.0
    enhanced = ImageEnhance.Sharpness(_pil(image)).enhance(1 + factor * sign)
    return np.array(enhanced)


def equalize(image: np.ndarray) -> np.ndarray:
    """PIL ``ImageOps.equalize`` (per channel)."""
    return np.array(ImageOps.equalize(_pil(image)))


def solarize_add(image: np.ndarray, addition: int, threshold: int = 128) -> np.ndarray:
    """Add ``addition`` (clipped) to the pixels below ``threshold``."""
    added = np.clip(image.astype(np.int64) + addition, 0, 255).astype(np.uint8)
    return np.where(image < threshold, added, image)


def cutout(image: np.ndarray,
           pad_size: int,
           replace: Sequence[int] = REPLACE,
           center: Optional[Tuple[int, int]] = None) -> np.ndarray:
    """Fill the square ``[cy - pad, cy + pad) x [cx - pad, cx + pad)`` (cut at
    the border) with ``replace``; the centre ``(cy, cx)`` is uniform over the
    image unless given."""
    height, width = image.shape[:2]
    if center is None:
        center = (np.random.randint(0, height), np.random.randint(0, width))
    cy, cx = center
    out = image.copy()
    out[max(0, cy - pad_size):min(height, cy + pad_size),
        max(0, cx - pad_size):min(width, cx + pad_size)] = replace
    return out


def flip_lr(image: np.ndarray) -> np.ndarray:
    """Mirror left-right."""
    return np.ascontiguousarray(image[:, ::-1])


def _affine(image: np.ndarray,
            coeffs: Tuple[float, ...],
            resample: int = Image.NEAREST) -> np.ndarray:
    """PIL affine: output ``(x, y)`` samples input ``(a x + b y + c,
    d x + e y + f)``; empty pixels are ``REPLACE``."""
    out = _pil(image).transform((image.shape[1], image.shape[0]),
                                Image.AFFINE,
                                coeffs,
                                resample,
                                fillcolor=REPLACE)
    return np.array(out)


def translate_x(image: np.ndarray, pixels: float) -> np.ndarray:
    """Content moves ``-pixels`` along x (PIL affine, nearest)."""
    return _affine(image, (1, 0, pixels, 0, 1, 0))


def translate_y(image: np.ndarray, pixels: float) -> np.ndarray:
    """Content moves ``-pixels`` along y (PIL affine, nearest)."""
    return _affine(image, (1, 0, 0, 0, 1, pixels))


def shear_x(image: np.ndarray, level: float) -> np.ndarray:
    """``x' = x - level * y`` (PIL affine, bicubic)."""
    return _affine(image, (1, level, 0, 0, 1, 0), Image.BICUBIC)


def shear_y(image: np.ndarray, level: float) -> np.ndarray:
    """``y' = y - level * x`` (PIL affine, bicubic)."""
    return _affine(image, (1, 0, 0, level, 1, 0), Image.BICUBIC)


def rotate(image: np.ndarray, degrees: float) -> np.ndarray:
    """PIL rotation about the centre, counter-clockwise for positive
    ``degrees`` (nearest); pixels from outside the image are ``REPLACE``."""
    alpha = np.full(image.shape[:2] + (1, ), 255, np.uint8)
    rotated = np.array(_pil(np.concatenate([image, alpha], axis=2)).rotate(degrees))
    out = rotated[..., :3].copy()
    out[rotated[..., 3] == 0] = REPLACE
    return out


# ------------------------------------------------------------- box rules
# Paddle works on normalized (y1, x1, y2, x2) boxes and truncates
# ``int(height * y)``; the same rules are written here on absolute
# (x1, y1, x2, y2) boxes (``int(y)``), which avoids the float round trip
# (``int(100 * (29 / 100)) == 28``) without changing the rules.
def _finish_box(x1: float,
                y1: float,
                x2: float,
                y2: float,
                height: int,
                width: int,
                delta: float = 0.05) -> Optional[np.ndarray]:
    """Drop a box that left the image, clip it, and give a zero-extent side
    an extent of ``delta`` of the image at the border (Paddle's
    ``_clip_bbox`` and ``_check_bbox_area``)."""
    if x2 < 0 or x1 > width or y2 < 0 or y1 > height:
        return None
    x1, x2 = np.clip([x1, x2], 0, width)
    y1, y2 = np.clip([y1, y2], 0, height)
    if y2 == y1:
        y2, y1 = max(y2, delta * height), min(y1, (1 - delta) * height)
    if x2 == x1:
        x2, x1 = max(x2, delta * width), min(x1, (1 - delta) * width)
    return np.array([x1, y1, x2, y2], dtype=np.float64)


def _map_boxes(
        boxes: Boxes, fn: Callable[[np.ndarray],
                                   Optional[np.ndarray]]) -> Tuple[Boxes, np.ndarray]:
    """Apply a per-box rule; return the kept boxes and their indices."""
    kept, index = [], []
    for i, box in enumerate(boxes):
        new = fn(box)
        if new is not None:
            kept.append(new)
            index.append(i)
    return (np.array(kept,
                     dtype=np.float64).reshape(-1, 4), np.array(index, dtype=np.int64))


def _shift_box(box: np.ndarray, height: int, width: int, pixels: float,
               horizontal: bool) -> Optional[np.ndarray]:
    pixels = int(pixels)
    x1, y1, x2, y2 = (int(v) for v in box)
    if horizontal:
        x1, x2 = max(0, x1 - pixels), min(width, x2 - pixels)
    else:
        y1, y2 = max(0, y1 - pixels), min(height, y2 - pixels)
    return _finish_box(x1, y1, x2, y2, height, width)


def _corners(box: np.ndarray) -> np.ndarray:
    """The four corners as a (2, 4) array, rows y and x (truncated)."""
    x1, y1, x2, y2 = (int(v) for v in box)
    return np.array([[y1, y1, y2, y2], [x1, x2, x1, x2]], dtype=np.float32)


def _shear_box(box: np.ndarray, height: int, width: int, level: float,
               horizontal: bool) -> Optional[np.ndarray]:
    matrix = (np.array([[1, 0], [-level, 1]])
              if horizontal else np.array([[1, -level], [0, 1]])).astype(np.float32)
    new = (matrix @ _corners(box)).astype(np.int32)
    return _finish_box(new[1].min(), new[0].min(), new[1].max(), new[0].max(), height,
                       width)


def _rotate_box(box: np.ndarray, height: int, width: int,
                degrees: float) -> Optional[np.ndarray]:
    """Rotate the corners about the image centre (y axis up), take their
    bounding box (Paddle's ``_rotate_bbox``)."""
    radians = degrees * math.pi / 180.0
    x1, y1, x2, y2 = box
    top, bottom = -int(y1 - 0.5 * height), -int(y2 - 0.5 * height)
    left, right = int(x1 - 0.5 * width), int(x2 - 0.5 * width)
    corners = np.array([[top, top, bottom, bottom], [left, right, left, right]],
                       dtype=np.float32)
    matrix = np.array([[math.cos(radians), math.sin(radians)],
                       [-math.sin(radians), math.cos(radians)]])
    new = (matrix @ corners).astype(np.int32)
    return _finish_box(new[1].min() + 0.5 * width, 0.5 * height - new[0].max(),
                       new[1].max() + 0.5 * width, 0.5 * height - new[0].min(), height,
                       width)


# ---------------------------------------------- ops on image and boxes
def _with_boxes(image: np.ndarray, boxes: Boxes, image_op: Callable[[np.ndarray],
                                                                    np.ndarray],
                box_op: Callable[[np.ndarray, int, int], np.ndarray]) -> OpResult:
    """``image_op`` on the image, ``box_op(box, height, width)`` on every box
    (the size after the op); boxes left without area are dropped (``keep``)."""
    image = image_op(image)
    height, width = image.shape[:2]
    boxes, keep = _map_boxes(boxes, lambda b: box_op(b, height, width))
    return image, boxes, keep


def translate_with_boxes(image: np.ndarray, boxes: Boxes, pixels: float,
                         horizontal: bool) -> OpResult:
    """``TranslateX_BBox`` / ``TranslateY_BBox``."""
    op = translate_x if horizontal else translate_y
    return _with_boxes(image, boxes, lambda im: op(im, pixels),
                       lambda b, h, w: _shift_box(b, h, w, pixels, horizontal))


def shear_with_boxes(image: np.ndarray, boxes: Boxes, level: float,
                     horizontal: bool) -> OpResult:
    """``ShearX_BBox`` / ``ShearY_BBox``."""
    op = shear_x if horizontal else shear_y
    return _with_boxes(image, boxes, lambda im: op(im, level),
                       lambda b, h, w: _shear_box(b, h, w, level, horizontal))


def rotate_with_boxes(image: np.ndarray, boxes: Boxes, degrees: float) -> OpResult:
    """``Rotate_BBox``."""
    return _with_boxes(image, boxes, lambda im: rotate(im, degrees),
                       lambda b, h, w: _rotate_box(b, h, w, degrees))


def apply_in_boxes(image: np.ndarray, boxes: Boxes, prob: float,
                   func: Callable[..., np.ndarray], *args) -> np.ndarray:
    """The ``*_Only_BBoxes`` rule: for each box in turn, with probability
    ``prob / 3``, replace its pixels, rows ``int(y1) .. min(int(y2), h - 1)``
    and columns ``int(x1) .. min(int(x2), w - 1)`` (inclusive), by
    ``func(pixels, *args)``; the boxes do not change."""
    prob = prob / 3.0
    height, width = image.shape[:2]
    for box in boxes:
        if not np.random.rand() + prob >= 1:
            continue
        min_x, min_y = int(box[0]), int(box[1])
        max_x, max_y = min(int(box[2]), width - 1), min(int(box[3]), height - 1)
        content = image[min_y:max_y + 1, min_x:max_x + 1]
        if content.shape[0] == 0 or content.shape[1] == 0:
            continue
        image = image.copy()
        image[min_y:max_y + 1, min_x:max_x + 1] = func(content, *args)
    return image
