"""Per-class top-k bookkeeping: exact order, ties, streaming, memory bound."""
import numpy as np
import pytest

from ssld_mm.data_selection.topk import ClassTopK, topk_order


def brute_force(idx, cls, score, k):
    """Plain Python: per class sort by (-score, idx), take k; class order."""
    out = []
    for c in sorted(set(cls.tolist())):
        members = [(-float(s), int(i)) for i, cc, s in zip(idx, cls, score) if cc == c]
        out.extend(i for _, i in sorted(members)[:k])
    return out


def random_candidates(n, classes, seed, ties=True):
    rng = np.random.default_rng(seed)
    idx = rng.permutation(n * 3)[:n].astype(np.int64)
    cls = rng.integers(0, classes, n)
    # few distinct score values: many exact ties
    score = (rng.integers(0, 7, n) / 7).astype(np.float32) if ties else \
        rng.random(n).astype(np.float32)
    return idx, cls, score


def test_topk_order_hand_computed():
    idx = np.array([10, 11, 12, 13, 14, 15])
    cls = np.array([1, 0, 1, 1, 0, 1])
    score = np.array([.5, .9, .7, .7, .2, .1], dtype=np.float32)
    keep = topk_order(idx, cls, score, k=2)
    # class 0: 11 (.9), 14 (.2); class 1: 12 (.7) and 13 (.7) tie -> idx order
    assert idx[keep].tolist() == [11, 14, 12, 13]


@pytest.mark.parametrize('k', [1, 3, 50])
def test_topk_order_equals_brute_force_with_ties(k):
    idx, cls, score = random_candidates(400, 7, seed=k)
    keep = topk_order(idx, cls, score, k)
    assert idx[keep].tolist() == brute_force(idx, cls, score, k)


def test_topk_order_validates():
    with pytest.raises(ValueError, match='k must be >= 1'):
        topk_order(np.zeros(1), np.zeros(1), np.zeros(1), 0)
    with pytest.raises(ValueError, match='differ in length'):
        topk_order(np.zeros(2), np.zeros(1), np.zeros(2), 1)
    assert topk_order(np.zeros(0), np.zeros(0), np.zeros(0), 3).size == 0


def test_streaming_equals_one_shot_and_carries_extras():
    idx, cls, score = random_candidates(3000, 5, seed=0)
    extra = np.stack([idx * 2, idx * 3], axis=1)
    topk = ClassTopK(k=20, min_buffer=64)  # forces many compactions
    rng = np.random.default_rng(1)
    cuts = np.sort(rng.choice(np.arange(1, 3000), 40, replace=False))
    for part in np.split(np.arange(3000), cuts):
        topk.add(idx[part], cls[part], score[part], extra=extra[part])
        # memory bound: kept (<= k * classes) + buffer (<= max(kept, min_buffer))
        assert len(topk) <= 2 * max(20 * 5, 64) + len(part)
    res = topk.result()
    assert res['idx'].tolist() == brute_force(idx, cls, score, 20)
    assert (res['extra'] == np.stack([res['idx'] * 2, res['idx'] * 3], 1)).all()
    assert np.bincount(res['cls']).tolist() == [20] * 5


def test_class_topk_errors_and_empty():
    with pytest.raises(ValueError, match='k must be an integer >= 1'):
        ClassTopK(0)
    topk = ClassTopK(2)
    assert topk.result()['idx'].size == 0
    topk.add([1], [0], [0.5], a=[1])
    with pytest.raises(ValueError, match='fields changed'):
        topk.add([2], [0], [0.5])
    with pytest.raises(ValueError, match='same length'):
        topk.add([2, 3], [0], [0.5], a=[1])
