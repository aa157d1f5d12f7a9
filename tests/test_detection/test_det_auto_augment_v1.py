"""DetAutoAugmentV1: PaddleDetection's AutoAugment policy v1 with boxes.

Each operation is checked on a hand-made image and box against values worked
out by hand from Paddle's rules (``ppdet/data/transform/autoaugment_utils.py``).
"""
import numpy as np
import pytest
import torch
from mmdet.structures.bbox import HorizontalBoxes
from mmengine.registry import DefaultScope

from ssld_mm.datasets.transforms import DetAutoAugmentV1
from ssld_mm.datasets.transforms import _autoaugment_ops as ops
from ssld_mm.datasets.transforms.det_auto_augment_v1 import POLICY_V1

H, W = 40, 50
BOX = np.array([[10., 5., 20., 15.]])  # x1, y1, x2, y2


def scene(seed=0):
    """Noise background (values 0-99) and a bright object (200-255) exactly
    in BOX (columns 10..19, rows 5..14)."""
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 100, (H, W, 3), dtype=np.uint8)
    img[5:15, 10:20] = rng.integers(200, 256, (10, 10, 3), dtype=np.uint8)
    return img


def inside_mask(box, shape=(H, W)):
    mask = np.zeros(shape, bool)
    x1, y1, x2, y2 = (int(v) for v in box)
    mask[y1:min(y2, shape[0] - 1) + 1, x1:min(x2, shape[1] - 1) + 1] = True
    return mask


class OneOp(DetAutoAugmentV1):
    """A single-operation policy, applied always (op_prob='policy', p=1)."""

    def __init__(self, name, level, prob=1.0, **kwargs):
        super().__init__(op_prob='policy', **kwargs)
        self.policy = (((name, prob, level), ), )


def run(transform, img, boxes=BOX, labels=(3, ), seed=0):
    np.random.seed(seed)
    results = dict(
        img=img.copy(),
        gt_bboxes=HorizontalBoxes(boxes.copy()),
        gt_bboxes_labels=np.array(labels),
        gt_ignore_flags=np.zeros(len(boxes), bool))
    return transform.transform(results)


# ------------------------------------------------------- geometric + boxes
def test_translate_x_moves_image_and_box_by_the_pixels():
    img = scene()
    out, boxes, keep = ops.translate_with_boxes(img, BOX, 4, horizontal=True)
    expected = np.full_like(img, 128)
    expected[:, :W - 4] = img[:, 4:]  # content moves 4 px left
    assert np.array_equal(out, expected)
    assert boxes.tolist() == [[6., 5., 16., 15.]] and keep.tolist() == [0]
    # -30: 30 px right; the box is cut at the border (x2 = min(W, 50)).
    out, boxes, _ = ops.translate_with_boxes(img, BOX, -30, horizontal=True)
    assert boxes.tolist() == [[40., 5., 50., 15.]]
    assert np.array_equal(out[:, 40:], img[:, 10:20])
    # -45: x1 = 55 > W, the box left the image: dropped.
    _, boxes, keep = ops.translate_with_boxes(img, BOX, -45, horizontal=True)
    assert boxes.shape == (0, 4) and keep.size == 0


def test_translate_y_and_squeezed_box_gets_paddle_minimum_extent():
    img = scene()
    out, boxes, _ = ops.translate_with_boxes(img, BOX, 5, horizontal=False)
    assert np.array_equal(out[:H - 5], img[5:]) and (out[H - 5:] == 128).all()
    assert boxes.tolist() == [[10., 0., 20., 10.]]
    # shifted by exactly its bottom: y1 = y2 = 0 -> y2 = 0.05 * H = 2
    _, boxes, _ = ops.translate_with_boxes(img, BOX, 15, horizontal=False)
    assert boxes.tolist() == [[10., 0., 20., 2.]]


def test_shear_boxes_follow_the_truncated_corners():
    img = scene()
    # x' = x - 0.1 y: corners x 9.5, 19.5, 8.5, 18.5 -> ints 9, 19, 8, 18
    out, boxes, _ = ops.shear_with_boxes(img, BOX, 0.1, horizontal=True)
    assert boxes.tolist() == [[8., 5., 19., 15.]]
    # row 14 samples x + 1.45: the object (cols 10..19) now covers 9..17
    assert out[14, 9:18].min() > 150 and out[14, 20].max() < 150
    assert out[5, 10:19].min() > 150  # row 5 moved by 0.55 px only
    # y' = y + 0.1 x for level -0.1: corners y 6, 7, 16, 17 -> [6, 17]
    _, boxes, _ = ops.shear_with_boxes(img, BOX, -0.1, horizontal=False)
    assert boxes.tolist() == [[10., 6., 20., 17.]]


def test_rotate_keeps_the_object_inside_its_box():
    img = scene()
    out, boxes, keep = ops.rotate_with_boxes(img, BOX, 30.0)
    assert keep.tolist() == [0]
    x1, y1, x2, y2 = boxes[0]
    assert 0 <= x1 < x2 <= W and 0 <= y1 < y2 <= H
    bright = np.argwhere(out.min(axis=2) >= 200)  # the rotated object
    assert len(bright) > 60
    assert bright[:, 1].min() >= x1 - 1 and bright[:, 1].max() <= x2 + 1
    assert bright[:, 0].min() >= y1 - 1 and bright[:, 0].max() <= y2 + 1
    # a box far outside after rotation is dropped (off the 180 deg image)
    small = np.zeros((20, 100, 3), np.uint8)
    _, boxes, keep = ops.rotate_with_boxes(
        small, np.array([[0., 0., 5., 5.], [45., 8., 55., 12.]]), 90.0)
    assert keep.tolist() == [1]  # the corner box lands above the image


def test_box_op_drops_labels_and_flags_together_with_boxes():
    t = OneOp('TranslateX_BBox', level=10)  # 250 px, random sign
    two = np.array([[10., 5., 20., 15.], [30., 20., 45., 35.]])
    for seed in range(4):
        res = run(t, scene(), two, labels=(3, 7), seed=seed)
        assert isinstance(res['gt_bboxes'], HorizontalBoxes)
        assert len(res['gt_bboxes']) == 0  # 250 px > W: all boxes gone
        assert res['gt_bboxes_labels'].shape == (0, )
        assert res['gt_ignore_flags'].shape == (0, )
    t = OneOp('TranslateX_BBox', level=0.4)  # 10 px, either direction
    left = [[0., 5., 10., 15.], [20., 20., 35., 35.]]
    right = [[20., 5., 30., 15.], [40., 20., 50., 35.]]  # cut at W
    seen = []
    for seed in range(6):
        res = run(t, scene(), two, labels=(3, 7), seed=seed)
        assert res['gt_bboxes_labels'].tolist() == [3, 7]
        seen.append(res['gt_bboxes'].tensor.tolist())
        assert seen[-1] in (left, right)
    assert left in seen and right in seen


# -------------------------------------------------- bbox-only operations
@pytest.mark.parametrize('name, level', [('Flip_Only_BBoxes', 10),
                                         ('TranslateY_Only_BBoxes', 2),
                                         ('ShearX_Only_BBoxes', 4),
                                         ('ShearY_Only_BBoxes', 2),
                                         ('Equalize_Only_BBoxes', 8),
                                         ('Cutout_Only_BBoxes', 6)])
def test_bbox_only_ops_change_only_pixels_inside_the_box(name, level):
    # A larger object: PIL's equalize leaves < 256-pixel regions unchanged.
    rng = np.random.default_rng(0)
    img = rng.integers(0, 100, (80, 100, 3), dtype=np.uint8)
    img[10:60, 20:70] = rng.integers(150, 256, (50, 50, 3), dtype=np.uint8)
    box = np.array([[20., 10., 69., 59.]])
    t = DetAutoAugmentV1()
    np.random.seed(1)
    # prob 3.0 -> per-box probability 3.0 / 3 = 1: always applied
    out, boxes, keep = t.apply_op(name, img, box, 3.0, level)
    inside = inside_mask(box[0], img.shape[:2])
    assert np.array_equal(out[~inside], img[~inside])
    assert not np.array_equal(out[inside], img[inside])
    assert np.array_equal(boxes, box) and keep.tolist() == [0]


def test_bbox_only_flip_and_translate_values():
    img = scene()
    inside = (slice(5, 16), slice(10, 21))  # rows 5..15, cols 10..20
    out = ops.apply_in_boxes(img, BOX, 3.0, ops.flip_lr)
    assert np.array_equal(out[inside], img[inside][:, ::-1])
    # TranslateY_Only_BBoxes level 2 -> 24 px: larger than the 11-row crop
    out = ops.apply_in_boxes(img, BOX, 3.0, ops.translate_y, 3)
    expected = np.full_like(img[inside], 128)
    expected[:-3] = img[inside][3:]
    assert np.array_equal(out[inside], expected)
    # probability p / 3: with p = 0 nothing happens
    assert np.array_equal(ops.apply_in_boxes(img, BOX, 0.0, ops.flip_lr), img)


# ----------------------------------------------------------- colour ops
def test_color_uses_paddle_grey_weights_on_rgb_and_bgr_in_out():
    img_bgr = np.zeros((4, 4, 3), np.uint8)
    img_bgr[:] = (200, 150, 100)  # RGB (100, 150, 200)
    # Paddle: grey = BGR2GRAY weights on the RGB array
    #   0.114*100 + 0.587*150 + 0.299*200 = 159.25 -> 159
    # level 6 -> factor 1.18; 159 + 1.18 * (c - 159), clipped, truncated:
    #   R 89.38 -> 89, G 148.38 -> 148, B 207.38 -> 207
    res = run(OneOp('Color', 6), img_bgr, np.zeros((0, 4)), labels=())
    assert res['img'][0, 0].tolist() == [207, 148, 89]


def test_brightness_solarize_add_and_cutout_values():
    img = np.array([[[100, 200, 120]], [[250, 10, 127]]], np.uint8)
    # Brightness level 10: factor 1.9 -> 190, 380 -> 255, 228
    assert ops.brightness(img, 1.9)[0, 0].tolist() == [190, 255, 228]
    # SolarizeAdd level 4: +44 below 128 only
    t = DetAutoAugmentV1()
    out, _, _ = t.apply_op('SolarizeAdd', img, np.zeros((0, 4)), 0.4, 4)
    assert out.reshape(-1).tolist() == [144, 200, 164, 250, 54, 171]
    # Cutout: square [cy-p, cy+p) x [cx-p, cx+p), cut at the border, 128
    big = scene()
    out = ops.cutout(big, 4, center=(2, 30))
    expected = big.copy()
    expected[0:6, 26:34] = 128
    assert np.array_equal(out, expected)


def test_equalize_stretches_a_two_level_channel():
    img = np.zeros((100, 100, 3), np.uint8)
    img[:, :50] = 60
    img[:, 50:] = 90
    out = ops.equalize(img)
    assert (out[:, :50] == 0).all() and (out[:, 50:] == 255).all()
    # PIL: step = (N - last bin) // 255 = 0 for < 256 pixels: unchanged
    assert np.array_equal(ops.equalize(img[:10, 45:55]), img[:10, 45:55])


# ------------------------------------------------- policy, randomness, API
def test_policy_is_paddle_v1():
    assert len(POLICY_V1) == 20 and all(len(p) == 2 for p in POLICY_V1)
    assert POLICY_V1[0] == (('TranslateX_BBox', 0.6, 4), ('Equalize', 0.8, 10))
    assert POLICY_V1[-1] == (('SolarizeAdd', 0.6, 8), ('Brightness', 0.8, 10))
    t = DetAutoAugmentV1()
    for sub in POLICY_V1:  # every operation is implemented
        for name, prob, level in sub:
            t.apply_op(name, scene(), BOX, prob, level)


def test_same_seed_same_result_and_seeds_differ():
    t = DetAutoAugmentV1()
    two = np.array([[10., 5., 20., 15.], [30., 20., 45., 35.]])

    def sample(seed):
        outs = []
        for i in range(12):
            res = run(t, scene(i), two, labels=(1, 2), seed=seed * 100 + i)
            outs.append((res['img'], res['gt_bboxes'].tensor.numpy()))
        return outs

    a, b, c = sample(1), sample(1), sample(2)
    assert all(
        np.array_equal(x[0], y[0]) and np.array_equal(x[1], y[1]) for x, y in zip(a, b))
    assert not all(np.array_equal(x[0], y[0]) for x, y in zip(a, c))


def test_op_prob_paddle_ignores_policy_probability():
    never = (('Brightness', 0.0, 10), )
    paddle, policy = DetAutoAugmentV1('paddle'), DetAutoAugmentV1('policy')
    paddle.policy = policy.policy = (never, )
    img = scene()
    changed = {
        name: sum(not np.array_equal(run(t, img, seed=s)['img'], img)
                  for s in range(60))
        for name, t in (('paddle', paddle), ('policy', policy))
    }
    assert changed['policy'] == 0
    assert 15 <= changed['paddle'] <= 45  # Paddle: p = 0.5 for every op


def test_errors_and_registry():
    with pytest.raises(ValueError, match="op_prob must be one of"):
        DetAutoAugmentV1(op_prob='always')
    with pytest.raises(ValueError, match='uint8'):
        DetAutoAugmentV1().transform(dict(img=np.zeros((4, 4, 3), np.float32)))
    with pytest.raises(ValueError, match='gt_masks'):
        DetAutoAugmentV1().transform(dict(img=scene(), gt_masks=object()))
    with pytest.raises(ValueError, match='unknown operation'):
        DetAutoAugmentV1().apply_op('Invert', scene(), BOX, 1.0, 1)
    from mmdet.registry import TRANSFORMS

    import ssld_mm  # noqa: F401
    with DefaultScope.overwrite_default_scope('mmdet'):
        t = TRANSFORMS.build(dict(type='ssld_mm.DetAutoAugmentV1', op_prob='policy'))
    assert isinstance(t, DetAutoAugmentV1) and t.op_prob == 'policy'
    # no boxes at all: image-only behaviour, keys untouched
    res = run(t, scene(), np.zeros((0, 4)), labels=())
    assert res['gt_bboxes'].tensor.shape == torch.Size([0, 4])


@pytest.mark.parametrize('config', [
    'faster-rcnn_r50vd-ssld-dcnv2_fpn_pssdet-3x_coco.py',
    'cascade-rcnn_mbv3-large-ssld_fpn_320_coco.py'
])
def test_config_train_pipelines_run_it(config):
    import os.path as osp

    import mmdet.datasets  # noqa: F401
    from conftest import REPO
    from mmcv.transforms import Compose
    from mmdet.registry import TRANSFORMS
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'detection', config))
    steps = cfg.train_dataloader.dataset.pipeline
    assert 'ssld_mm.DetAutoAugmentV1' in [s['type'] for s in steps]
    with DefaultScope.overwrite_default_scope('mmdet'):
        pipeline = Compose([TRANSFORMS.build(s) for s in steps[2:]])
    boxes = np.array([[10., 5., 20., 15.], [30., 20., 45., 35.]])
    seen = set()
    for seed in range(8):
        np.random.seed(seed)
        out = pipeline(
            dict(
                img=scene(),
                img_shape=(H, W),
                ori_shape=(H, W),
                img_id=0,
                img_path='x.png',
                gt_bboxes=HorizontalBoxes(boxes.copy()),
                gt_bboxes_labels=np.array([1, 2]),
                gt_ignore_flags=np.zeros(2, bool)))
        inst = out['data_samples'].gt_instances
        assert len(inst.bboxes) == len(inst.labels) <= 2
        h, w = out['inputs'].shape[1:]
        assert (inst.bboxes.tensor[:, 2:] <= torch.tensor([w, h]) + 1e-3).all()
        seen.add(tuple(inst.bboxes.tensor.flatten().round().tolist()))
    assert len(seen) > 1  # random resize / flip / policy
