"""SIFT features, descriptor mirroring, the FLANN index and the duplicate
decision, on synthetic textured scenes and their transformed copies."""
import cv2
import numpy as np
import pytest

from ssld_mm.data_selection.sift import (DEFAULTS, SiftIndex, extract_sift, load_gray,
                                         mirror_features, verify_geometry)
from ssld_mm.testing.synthetic_scenes import TRANSFORMS, make_scene, near_duplicate

NUM_VAL = 20
MIN_INLIERS = DEFAULTS['min_inliers']


def feats_of(img):
    return extract_sift(
        cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), DEFAULTS['max_keypoints'])


@pytest.fixture(scope='module')
def val_index():
    val = [make_scene(i, cls=i % 4) for i in range(NUM_VAL)]
    feats = [feats_of(v) for v in val]
    index = SiftIndex(
        np.concatenate([f.desc for f in feats]), np.concatenate([f.xy for f in feats]),
        np.concatenate([np.full(len(f.desc), i) for i, f in enumerate(feats)]))
    return val, index


def test_scenes_have_enough_keypoints():
    n = [len(feats_of(make_scene(s, s % 4)).desc) for s in range(4)]
    assert min(n) >= 120, n


def test_mirrored_descriptors_equal_those_of_the_flipped_image():
    img = make_scene(3, cls=1)
    mirrored = mirror_features(feats_of(img))
    flipped = feats_of(np.ascontiguousarray(img[:, ::-1]))
    errs, ident = [], []
    for xy, d in zip(mirrored.xy, mirrored.desc):
        dist = np.linalg.norm(flipped.xy - xy, axis=1)
        j = int(np.argmin(dist))
        if dist[j] > 0.3:
            continue
        # same position; several orientations may share it: take the closest
        cands = np.flatnonzero(dist < 0.3)
        errs.append(
            min(np.linalg.norm(flipped.desc[c] - d) for c in cands) / np.linalg.norm(d))
    assert len(errs) >= 50
    assert np.median(errs) < 0.1
    # without the permutation the descriptors do not agree at all
    plain = feats_of(img)
    for xy, d in zip(mirrored.xy[:50], plain.desc[:50]):
        cands = np.flatnonzero(np.linalg.norm(flipped.xy - xy, axis=1) < 0.3)
        if len(cands):
            ident.append(
                min(np.linalg.norm(flipped.desc[c] - d)
                    for c in cands) / np.linalg.norm(d))
    assert np.median(ident) > 0.3


@pytest.mark.parametrize('kind', sorted(TRANSFORMS))
def test_each_kind_of_copy_is_found(val_index, kind):
    val, index = val_index
    for j, vi in enumerate((1, 8, 15)):
        copy = near_duplicate(val[vi], kind, seed=j)
        m = index.match(feats_of(copy), min_inliers=MIN_INLIERS)
        assert m.val_id == vi, (kind, vi, m)
        assert m.inliers >= MIN_INLIERS, (kind, vi, m)
        assert m.mirrored == (kind in ('flip', 'combo'))


def test_different_images_of_the_same_class_are_not_flagged(val_index):
    _, index = val_index
    scores = [
        index.match(feats_of(make_scene(100 + s, cls=s % 4)), min_inliers=3).inliers
        for s in range(16)
    ]
    assert max(scores) < MIN_INLIERS, scores


def test_flipped_copies_need_the_mirror_check(val_index):
    val, index = val_index
    copy = feats_of(near_duplicate(val[4], 'flip'))
    assert index.match(copy, check_flip=False).inliers < MIN_INLIERS
    assert index.match(copy, check_flip=True).val_id == 4


def test_verify_geometry():
    rng = np.random.default_rng(0)
    src = rng.uniform(0, 200, (40, 2)).astype(np.float32)
    ids = np.arange(40)
    similar = src * 1.3 + [5, -7]  # resize + crop offset
    assert verify_geometry(src, similar.astype(np.float32), ids, 3.0) == 40
    # the same 40 matches piled on 4 validation keypoints count 4 times
    assert verify_geometry(src, similar.astype(np.float32), ids % 4, 3.0) <= 4
    mirror = src.copy()
    mirror[:, 0] = 300 - mirror[:, 0]  # a reflection is not a near-duplicate
    assert verify_geometry(src, mirror, ids, 3.0) == 0
    collapsed = np.stack([src[:, 0], np.zeros(40)], 1).astype(np.float32)
    assert verify_geometry(src, collapsed, ids, 3.0) == 0
    assert verify_geometry(src[:2], similar[:2].astype(np.float32), ids[:2], 3.0) == 0


def test_load_gray(tmp_path):
    img = make_scene(0, size=(300, 600))
    path = str(tmp_path / 'a.jpg')
    cv2.imwrite(path, img)
    gray = load_gray(path, max_side=256)
    assert gray.shape == (128, 256) and gray.dtype == np.uint8
    small = load_gray(path, max_side=1024)  # never upscaled
    assert small.shape == (300, 600)
    with open(tmp_path / 'bad.jpg', 'wb') as f:
        f.write(open(path, 'rb').read()[:2000])  # truncated JPEG
    with pytest.raises(OSError):
        load_gray(str(tmp_path / 'bad.jpg'), 256)
    with pytest.raises(FileNotFoundError):
        load_gray(str(tmp_path / 'none.jpg'), 256)


def test_index_validates_inputs():
    with pytest.raises(ValueError, match='differ in length'):
        SiftIndex(np.zeros((3, 128)), np.zeros((2, 2)), np.zeros(3))
    empty = SiftIndex(np.zeros((0, 128)), np.zeros((0, 2)), np.zeros(0))
    assert empty.match(feats_of(make_scene(0))).val_id == -1
