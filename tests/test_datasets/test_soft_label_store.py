"""SoftLabelStore: format, reader, view choice, distribution fill, errors."""
import json
import os
import os.path as osp
import pickle

import numpy as np
import pytest

from ssld_mm.datasets.soft_label_store import (INDEX_FILE, SoftLabelStore,
                                               fill_distribution, make_index,
                                               save_index, save_shard, select_view,
                                               shard_name, validate_shard_arrays)

N, M, K, C, PER_SHARD = 10, 3, 2, 5, 4
SKIPPED = 5  # this sample's image "could not be read"


def _rows(samples):
    """Rows of ``samples`` with values computable from (sample, view)."""
    s = np.repeat(np.asarray(samples, np.int64), M)
    v = np.tile(np.arange(M, dtype=np.int16), len(samples))
    box = np.stack([s, v, s + 10, v + 20], 1).astype(np.int32)
    flip = (s + v) % 2 == 1
    idx = np.stack([(s + v) % C, (s + v + 1) % C], 1).astype(np.int32)
    prob = np.stack([0.5 + 0.01 * v, 0.25 + 0 * v], 1).astype(np.float16)
    return dict(sample_idx=s, view=v, box=box, flip=flip, topk_idx=idx, topk_prob=prob)


def make_store(tmp_path, compressed_shard=None):
    store = str(tmp_path / 'store')
    os.makedirs(store)
    lst = str(tmp_path / 'list.txt')
    with open(lst, 'w') as f:
        f.write(''.join(f'img_{i}.png\n' for i in range(N)))
    index = make_index(
        list_path=lst,
        num_samples=N,
        num_views=M,
        topk=K,
        num_classes=C,
        crop_size=8,
        seed=3,
        samples_per_shard=PER_SHARD,
        num_skipped=1)
    for sid in range(len(index['shards'])):
        samples = [
            i for i in range(sid * PER_SHARD, min(N, (sid + 1) * PER_SHARD))
            if i != SKIPPED
        ]
        if sid == compressed_shard:
            np.savez_compressed(osp.join(store, shard_name(sid)), **_rows(samples))
        else:
            save_shard(store, sid, _rows(samples), topk=K)
    save_index(store, index)
    return store, lst


def test_views_values_shards_and_numpy_only_reading(tmp_path):
    store_dir, lst = make_store(tmp_path)
    assert sorted(os.listdir(store_dir)) == [
        INDEX_FILE, 'shard_00000.npz', 'shard_00001.npz', 'shard_00002.npz'
    ]
    store = SoftLabelStore(store_dir, max_open_shards=1)
    assert (store.num_views, store.topk, store.num_classes) == (M, K, C)
    assert (store.crop_size, store.seed, store.num_samples) == ((8, 8), 3, N)
    assert store.index['num_skipped'] == 1
    for i in [9, 0, 6, 4]:  # across shards, with max_open_shards=1
        v = store.views(i)
        assert set(v) == {'view', 'box', 'flip', 'topk_idx', 'topk_prob'}
        assert v['view'].tolist() == [0, 1, 2]
        assert v['box'].tolist() == [[i, j, i + 10, j + 20] for j in range(M)]
        assert v['flip'].tolist() == [(i + j) % 2 == 1 for j in range(M)]
        assert v['topk_idx'].tolist() == [[(i + j) % C, (i + j + 1) % C]
                                          for j in range(M)]
        assert v['topk_prob'].dtype == np.float16
        np.testing.assert_allclose(v['topk_prob'][:, 0], [0.5, 0.51, 0.52], atol=1e-3)
        assert not isinstance(v['box'], np.memmap) and v['box'].base is None
    assert len(store._open) == 1
    assert store.view(6, 2)['box'].tolist() == [6, 2, 16, 22]
    # the same data with numpy only
    with np.load(osp.join(store_dir, 'shard_00001.npz')) as z:
        assert z['sample_idx'].tolist() == [4] * M + [6] * M + [7] * M
        assert z['box'].dtype == np.int32 and z['flip'].dtype == np.bool_
    with open(osp.join(store_dir, INDEX_FILE)) as f:
        assert json.load(f)['shards'][2] == dict(
            file='shard_00002.npz', first_sample=8, num_samples=2)
    store.close()


def test_skipped_sample_and_out_of_range(tmp_path):
    store = SoftLabelStore(make_store(tmp_path)[0])
    assert store.has(4) and not store.has(SKIPPED)
    with pytest.raises(KeyError, match='sample 5 has no views.*skipped.txt'):
        store.views(SKIPPED)
    with pytest.raises(IndexError, match=r'sample_idx 10 out of range \[0, 10\)'):
        store.views(N)
    with pytest.raises(KeyError, match='no view 3'):
        store.view(0, 3)


def test_compressed_shard_and_pickle(tmp_path):
    store = SoftLabelStore(make_store(tmp_path, compressed_shard=1)[0])
    assert store.views(7)['box'][1].tolist() == [7, 1, 17, 21]
    clone = pickle.loads(pickle.dumps(store))  # e.g. spawned DataLoader worker
    assert clone._open == {} and clone.views(9)['view'].tolist() == [0, 1, 2]


def test_missing_index_and_missing_shard(tmp_path):
    store_dir, _ = make_store(tmp_path)
    os.remove(osp.join(store_dir, 'shard_00001.npz'))
    with pytest.raises(
            ValueError, match=r"missing 1 of 3 shards: \['shard_00001.npz'\]"):
        SoftLabelStore(store_dir)
    os.remove(osp.join(store_dir, INDEX_FILE))
    with pytest.raises(FileNotFoundError, match='has no index.json.*not finished'):
        SoftLabelStore(store_dir)
    with pytest.raises(FileNotFoundError, match='does not exist'):
        SoftLabelStore(str(tmp_path / 'nope'))


def test_bad_index(tmp_path):
    store_dir, _ = make_store(tmp_path)
    path = osp.join(store_dir, INDEX_FILE)
    index = json.load(open(path))
    for change, msg in [({
            'format': 'x'
    }, 'not a soft-label store'), ({
            'format_version': 99
    }, 'format version 99'), ({
            'topk': 6
    }, 'topk=6 > num_classes=5'), ({
            'num_samples': 20
    }, 'lists 3 shards, expected 5')]:
        json.dump(dict(index, **change), open(path, 'w'))
        with pytest.raises(ValueError, match=msg):
            SoftLabelStore(store_dir)


def test_check_matches(tmp_path):
    store_dir, lst = make_store(tmp_path)
    store = SoftLabelStore(store_dir)
    store.check_matches(lst, N, 8)
    store.check_matches(lst, N, (8, 8))
    with pytest.raises(ValueError, match=r'generated for 10 entries.*has 11'):
        store.check_matches(lst, 11, 8)
    with pytest.raises(ValueError, match=r'crops of \(8, 8\).*crops to \(8, 9\)'):
        store.check_matches(lst, N, (8, 9))
    other = str(tmp_path / 'other.txt')
    with open(other, 'w') as f:
        f.write(''.join(f'other_{i}.png\n' for i in range(N)))
    with pytest.raises(ValueError, match='other contents'):
        store.check_matches(other, N, 8)


def test_select_view_is_a_permutation_per_block():
    for sample in range(20):
        for block in range(3):
            views = [select_view(sample, block * 4 + e, 0, 4) for e in range(4)]
            assert sorted(views) == [0, 1, 2, 3]
    first = [select_view(s, 0, 0, 4) for s in range(200)]
    assert np.bincount(first, minlength=4).min() > 30  # spread over views
    assert [select_view(s, 0, 1, 4) for s in range(200)] != first  # seed matters
    assert select_view(7, 5, 0, 3) == select_view(7, 5, 0, 3)
    assert select_view(7, 5, 0, 1) == 0
    for bad in [dict(sample_idx=-1), dict(epoch=1.5), dict(num_views=0)]:
        args = dict(sample_idx=1, epoch=0, seed=0, num_views=3, **{})
        args.update(bad)
        with pytest.raises(ValueError, match=list(bad)[0]):
            select_view(**args)


def test_fill_distribution():
    p = fill_distribution(np.array([[3, 0]]), np.array([[0.5, 0.3]], np.float16), 5)
    np.testing.assert_allclose(p, [[0.3, 0.2 / 3, 0.2 / 3, 0.5, 0.2 / 3]], atol=1e-3)
    # K == C: the stored probabilities, renormalised (exact up to float16)
    full = fill_distribution(np.array([2, 0, 1]), np.array([0.6, 0.3, 0.1004]), 3)
    np.testing.assert_allclose(full, np.array([0.3, 0.1004, 0.6]) / 1.0004, rtol=1e-6)
    # over-full top-K (fp16 rounding): the rest gets 0, never negative
    assert fill_distribution(np.array([0]), np.array([1.001]), 3)[1:].tolist() == [0, 0]
    with pytest.raises(ValueError, match='outside'):
        fill_distribution(np.array([5]), np.array([0.5]), 5)


def test_validate_shard_arrays():
    rows = _rows([0, 1])
    with pytest.raises(ValueError, match=r"missing \['flip'\]"):
        validate_shard_arrays({k: v for k, v in rows.items() if k != 'flip'})
    with pytest.raises(ValueError, match="'box' has shape"):
        validate_shard_arrays(dict(rows, box=rows['box'][:, :3]))
    with pytest.raises(
            ValueError, match=r"'topk_idx' has shape \(6, 2\), expected \(6, 3\)"):
        validate_shard_arrays(rows, topk=3)
    with pytest.raises(ValueError, match='sorted'):
        validate_shard_arrays({k: v[::-1] for k, v in rows.items()})
    with pytest.raises(ValueError, match="'box' has dtype float64"):
        validate_shard_arrays(dict(rows, box=rows['box'].astype(float)))
