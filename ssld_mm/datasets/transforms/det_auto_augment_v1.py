"""PaddleDetection's detection AutoAugment, policy v1, with boxes."""
from typing import Dict, Tuple

import numpy as np
from mmcv.transforms import BaseTransform

from ssld_mm.registry import TRANSFORMS
from . import _autoaugment_ops as ops

#: PaddleDetection ``autoaugment_utils.policy_v1``: 20 sub-policies of
#: ``(operation, probability, level)``.
POLICY_V1: Tuple[Tuple[Tuple[str, float, int], ...], ...] = (
    (('TranslateX_BBox', 0.6, 4), ('Equalize', 0.8, 10)),
    (('TranslateY_Only_BBoxes', 0.2, 2), ('Cutout', 0.8, 8)),
    (('Sharpness', 0.0, 8), ('ShearX_BBox', 0.4, 0)),
    (('ShearY_BBox', 1.0, 2), ('TranslateY_Only_BBoxes', 0.6, 6)),
    (('Rotate_BBox', 0.6, 10), ('Color', 1.0, 6)),
    (('Color', 0.0, 0), ('ShearX_Only_BBoxes', 0.8, 4)),
    (('ShearY_Only_BBoxes', 0.8, 2), ('Flip_Only_BBoxes', 0.0, 10)),
    (('Equalize', 0.6, 10), ('TranslateX_BBox', 0.2, 2)),
    (('Color', 1.0, 10), ('TranslateY_Only_BBoxes', 0.4, 6)),
    (('Rotate_BBox', 0.8, 10), ('Contrast', 0.0, 10)),
    (('Cutout', 0.2, 2), ('Brightness', 0.8, 10)),
    (('Color', 1.0, 6), ('Equalize', 1.0, 2)),
    (('Cutout_Only_BBoxes', 0.4, 6), ('TranslateY_Only_BBoxes', 0.8, 2)),
    (('Color', 0.2, 8), ('Rotate_BBox', 0.8, 10)),
    (('Sharpness', 0.4, 4), ('TranslateY_Only_BBoxes', 0.0, 4)),
    (('Sharpness', 1.0, 4), ('SolarizeAdd', 0.4, 4)),
    (('Rotate_BBox', 1.0, 8), ('Sharpness', 0.2, 8)),
    (('ShearY_BBox', 0.6, 10), ('Equalize_Only_BBoxes', 0.6, 8)),
    (('ShearX_BBox', 0.2, 6), ('TranslateY_Only_BBoxes', 0.2, 10)),
    (('SolarizeAdd', 0.6, 8), ('Brightness', 0.8, 10)),
)

_OP_PROB_MODES = ('paddle', 'policy')


def _signed(value: float) -> float:
    """Negate with probability 0.5 (Paddle's ``_randomly_negate_tensor``)."""
    return value if np.floor(np.random.rand() + 0.5) >= 1 else -value


def _enhance(level: float) -> float:
    return level / ops.MAX_LEVEL * 1.8 + 0.1


def _frac(level: float, const: float) -> float:
    return level / ops.MAX_LEVEL * const


@TRANSFORMS.register_module()
class DetAutoAugmentV1(BaseTransform):
    """PaddleDetection's ``AutoAugmentImage(autoaug_type='v1')`` for
    MMDetection pipelines: images *and* boxes.

    PaddleDetection's PSS-DET and MobileNetV3 Cascade R-CNN recipes train
    with the detection AutoAugment policy v1 (Zoph et al. 2019; Paddle's
    ``ppdet/data/transform/autoaugment_utils.py``). MMDetection's
    ``AutoAugment`` ships policy v0 only and has none of the bbox-only
    operations (``*_Only_BBoxes``: translate, shear, flip, equalize or cut out
    the pixels *inside* a box, boxes unchanged). This transform applies
    policy v1 as Paddle does: pick one of the 20 sub-policies uniformly, run
    its two operations in order; geometric operations move the boxes with the
    image, with Paddle's box rules (corners truncated to integers, a box that
    leaves the image is dropped together with its label and ignore flag, a
    box squeezed to zero extent gets 5% of the image at the border).

    Magnitudes (level 0-10) are Paddle's: translate ``250 * level / 10``
    pixels (``*_Only_BBoxes``: 120), shear ``0.3 * level / 10``, rotate
    ``30 * level / 10`` degrees (each with a random sign), colour, contrast,
    brightness and sharpness factor ``1.8 * level / 10 + 0.1``, cutout half
    size ``100 * level / 10`` pixels (in boxes: 50), solarize-add
    ``110 * level / 10`` below 128. Empty pixels are filled with 128. The
    operations run on the RGB image (Paddle decodes RGB), on pixel values
    0-255 before normalization, as in Paddle; they are written with NumPy,
    OpenCV and PIL as Paddle's are, because MMDetection's ``Translate`` /
    ``Shear`` / ``Rotate`` take other magnitude units (fractions of the
    image, angles), keep boxes that leave the image and use other
    interpolation, so they would not reproduce the policy.

    Operation probability: Paddle's ``_apply_func_with_prob`` ignores the
    policy's probabilities and applies every operation of the chosen
    sub-policy with probability 0.5 (``op_prob='paddle'``, the default: what
    the published PaddleDetection models were trained with).
    ``op_prob='policy'`` uses the listed probabilities instead (TensorFlow's
    reference behaviour). Bbox-only operations are applied to each box with
    probability ``p / 3`` in both modes. Paddle's newest ``Cutout`` also
    drops boxes more than half covered by the cut; this one, like Paddle's
    earlier code and TensorFlow's, leaves the boxes alone.

    Randomness comes from ``np.random`` (MMEngine seeds it per worker), so a
    seeded run is reproducible.

    Required keys: ``img`` (uint8, 3 channels), ``gt_bboxes`` (optional),
    ``gt_bboxes_labels``, ``gt_ignore_flags`` (optional, filtered with the
    boxes). Modified: ``img``, ``gt_bboxes``, ``gt_bboxes_labels``,
    ``gt_ignore_flags``. Instance masks and segmentation maps are not
    supported (an error says so).

    Args:
        op_prob (str): ``'paddle'`` (every operation with probability 0.5,
            PaddleDetection's code) or ``'policy'`` (the policy's
            probabilities). Defaults to ``'paddle'``.
        channel_order (str): Channel order of ``img``: ``'bgr'``
            (MMDetection's ``LoadImageFromFile`` default) or ``'rgb'``.
            Defaults to ``'bgr'``.

    Example:
        >>> train_pipeline = [
        ...     dict(type='LoadImageFromFile'),
        ...     dict(type='LoadAnnotations', with_bbox=True),
        ...     dict(type='RandomFlip', prob=0.5),
        ...     dict(type='ssld_mm.DetAutoAugmentV1'),
        ...     dict(type='RandomChoiceResize', keep_ratio=True,
        ...          scales=[(512, 224), (512, 320), (512, 384)]),
        ...     dict(type='PackDetInputs')]
    """

    policy = POLICY_V1

    def __init__(self, op_prob: str = 'paddle', channel_order: str = 'bgr') -> None:
        if op_prob not in _OP_PROB_MODES:
            raise ValueError(f'DetAutoAugmentV1: op_prob must be one of '
                             f'{_OP_PROB_MODES}, got {op_prob!r}')
        if channel_order not in ('bgr', 'rgb'):
            raise ValueError("DetAutoAugmentV1: channel_order must be 'bgr' "
                             f"or 'rgb', got {channel_order!r}")
        self.op_prob = op_prob
        self.channel_order = channel_order

    # ------------------------------------------------------------ public
    def transform(self, results: Dict) -> Dict:
        """Apply one random sub-policy of v1 to ``results``."""
        self._check(results)
        sub_policy = self.policy[np.random.randint(0, len(self.policy))]
        img, boxes, keep = self._to_paddle(results)
        for name, prob, level in sub_policy:
            if not self._should_apply(prob):
                continue
            img, boxes, kept = self.apply_op(name, img, boxes, prob, level)
            keep = keep[kept]
        return self._from_paddle(results, img, boxes, keep)

    def apply_op(self, name: str, img: np.ndarray, boxes: np.ndarray, prob: float,
                 level: float) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Apply operation ``name`` at ``level`` (unconditionally; ``prob``
        is used only by the bbox-only operations, per box).

        Args:
            name (str): A policy operation name, e.g. ``'Rotate_BBox'``.
            img (np.ndarray): RGB uint8 image ``(H, W, 3)``.
            boxes (np.ndarray): ``(N, 4)`` absolute ``x1, y1, x2, y2``.
            prob (float): The operation's policy probability.
            level (float): Magnitude level, 0-10.

        Returns:
            tuple: New image, new boxes, and the indices (into ``boxes``) of
            the boxes kept, in order.
        """
        all_boxes = np.arange(len(boxes))
        if name in _BOX_OPS:
            func, magnitude, kwargs = _BOX_OPS[name]
            return func(img, boxes, _signed(_frac(level, magnitude)), **kwargs)
        if name in _IN_BOX_OPS:
            func, args = _IN_BOX_OPS[name](level)
            return ops.apply_in_boxes(img, boxes, prob, func, *args), boxes, all_boxes
        if name in _IMAGE_OPS:
            return _IMAGE_OPS[name](img, level), boxes, all_boxes
        raise ValueError(f'DetAutoAugmentV1: unknown operation {name!r}')

    # ----------------------------------------------------------- helpers
    def _should_apply(self, prob: float) -> bool:
        if self.op_prob == 'paddle':
            return np.floor(np.random.rand() + 0.5) >= 1
        return np.floor(np.random.rand() + prob) >= 1

    @staticmethod
    def _check(results: Dict) -> None:
        for key in ('gt_masks', 'gt_seg_map'):
            if results.get(key) is not None:
                raise ValueError(f'DetAutoAugmentV1 transforms images and boxes only; '
                                 f'results has {key!r}. Drop it or use MMDetection\'s '
                                 'AutoAugment for instance/semantic masks.')
        img = results.get('img')
        if not (isinstance(img, np.ndarray) and img.ndim == 3 and img.shape[2] == 3
                and img.dtype == np.uint8):
            found = (f'{img.dtype} array of shape {img.shape}' if isinstance(
                img, np.ndarray) else type(img).__name__)
            raise ValueError(
                'DetAutoAugmentV1 needs results["img"] as a uint8 (H, W, 3) '
                f'array (put it before Normalize); got {found}')

    def _to_paddle(self, results: Dict) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        img = results['img']
        if self.channel_order == 'bgr':
            img = img[..., ::-1]
        img = np.ascontiguousarray(img)
        gt = results.get('gt_bboxes')
        if gt is None:
            boxes = np.zeros((0, 4), dtype=np.float64)
        else:
            boxes = np.asarray(
                gt.numpy() if hasattr(gt, 'numpy') else
                (gt.tensor.numpy() if hasattr(gt, 'tensor') else gt),
                dtype=np.float64).reshape(-1, 4)
        return img, boxes, np.arange(len(boxes))

    def _from_paddle(self, results: Dict, img: np.ndarray, boxes: np.ndarray,
                     keep: np.ndarray) -> Dict:
        if self.channel_order == 'bgr':
            img = np.ascontiguousarray(img[..., ::-1])
        results['img'] = img
        gt = results.get('gt_bboxes')
        if gt is None:
            return results
        if hasattr(gt, 'tensor'):  # mmdet HorizontalBoxes
            import torch
            new = gt[torch.as_tensor(keep, dtype=torch.long)]
            new.tensor = torch.as_tensor(boxes, dtype=gt.tensor.dtype)
            results['gt_bboxes'] = new
        else:
            results['gt_bboxes'] = boxes.astype(np.asarray(gt).dtype)
        for key in ('gt_bboxes_labels', 'gt_ignore_flags'):
            if results.get(key) is not None:
                results[key] = results[key][keep]
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(op_prob={self.op_prob!r}, '
                f'channel_order={self.channel_order!r})')


# Operation tables: name -> implementation at a level (Paddle's level_to_arg).
# name -> (op, magnitude at level 10, keyword arguments)
_BOX_OPS = {
    'TranslateX_BBox': (ops.translate_with_boxes, 250, dict(horizontal=True)),
    'TranslateY_BBox': (ops.translate_with_boxes, 250, dict(horizontal=False)),
    'ShearX_BBox': (ops.shear_with_boxes, 0.3, dict(horizontal=True)),
    'ShearY_BBox': (ops.shear_with_boxes, 0.3, dict(horizontal=False)),
    'Rotate_BBox': (ops.rotate_with_boxes, 30, {}),
}
_IN_BOX_OPS = {
    'TranslateX_Only_BBoxes':
    lambda level: (ops.translate_x, (_signed(_frac(level, 120)), )),
    'TranslateY_Only_BBoxes':
    lambda level: (ops.translate_y, (_signed(_frac(level, 120)), )),
    'ShearX_Only_BBoxes':
    lambda level: (ops.shear_x, (_signed(_frac(level, 0.3)), )),
    'ShearY_Only_BBoxes':
    lambda level: (ops.shear_y, (_signed(_frac(level, 0.3)), )),
    'Flip_Only_BBoxes':
    lambda level: (ops.flip_lr, ()),
    'Equalize_Only_BBoxes':
    lambda level: (ops.equalize, ()),
    'Cutout_Only_BBoxes':
    lambda level: (ops.cutout, (int(_frac(level, 50)), )),
}
_IMAGE_OPS = {
    'Equalize': lambda img, level: ops.equalize(img),
    'Color': lambda img, level: ops.color(img, _enhance(level)),
    'Contrast': lambda img, level: ops.contrast(img, _enhance(level)),
    'Brightness': lambda img, level: ops.brightness(img, _enhance(level)),
    'Sharpness': lambda img, level: ops.sharpness(img, _enhance(level)),
    'Cutout': lambda img, level: ops.cutout(img, int(_frac(level, 100))),
    'SolarizeAdd': lambda img, level: ops.solarize_add(img, int(_frac(level, 110))),
}
