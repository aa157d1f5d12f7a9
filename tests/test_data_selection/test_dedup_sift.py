"""End-to-end SIFT dedup: recall/precision on synthetic copies, the removed
list, unreadable images, parallel workers, resume and the validation cache."""
import json
import os
import os.path as osp

import cv2
import pytest

from ssld_mm.data_selection import SiftMatchParams, dedup_pool
from ssld_mm.testing.synthetic_scenes import TRANSFORMS, make_scene, near_duplicate

NUM_VAL = 24


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    """24 validation scenes (4 classes); a pool of 2 copies per transform
    (12 copies of 12 of them), 12 other scenes of the same classes and one
    corrupt file: 25 entries, 3 chunks of 10."""
    root = str(tmp_path_factory.mktemp('dedup'))
    os.makedirs(osp.join(root, 'val'))
    os.makedirs(osp.join(root, 'pool'))
    val_lines = []
    for i in range(NUM_VAL):
        cv2.imwrite(osp.join(root, 'val', f'v{i}.png'), make_scene(i, i % 4))
        val_lines.append(f'val/v{i}.png {i % 4}')
    pool_lines, truth = [], {}
    for j, kind in enumerate(sorted(TRANSFORMS) * 2):
        vi = (5 * j) % NUM_VAL
        name = f'pool/dup{j}_{kind}.jpg'
        copy = near_duplicate(make_scene(vi, vi % 4), kind, seed=j)
        cv2.imwrite(osp.join(root, name), copy, [cv2.IMWRITE_JPEG_QUALITY, 90])
        pool_lines.append(f'{name} {vi % 4}')
        truth[name] = f'val/v{vi}.png'
        if j % 3 == 0:  # interleave same-class non-duplicates
            other = f'pool/other{j}.png'
            cv2.imwrite(osp.join(root, other), make_scene(300 + j, j % 4))
            pool_lines.append(other)
    for j in range(8):
        other = f'pool/more{j}.png'
        cv2.imwrite(osp.join(root, other), make_scene(400 + j, j % 4))
        pool_lines.append(other)
    with open(osp.join(root, 'pool', 'broken.jpg'), 'wb') as f:
        f.write(b'\xff\xd8\xff\xe0 truncated')
    pool_lines.insert(5, 'pool/broken.jpg')
    for name, lines in (('val.txt', val_lines), ('pool.txt', pool_lines)):
        with open(osp.join(root, name), 'w') as f:
            f.write('\n'.join(lines) + '\n')
    return root, pool_lines, truth


def run(data, tag, **kw):
    root = data[0]
    out, removed = osp.join(root,
                            f'{tag}_kept.txt'), osp.join(root, f'{tag}_removed.txt')
    args = dict(
        data_prefix=root, workers=2, chunk_size=10, progress=False, log=lambda s: None)
    sift = {k: kw.pop(k) for k in list(kw) if k in SiftMatchParams.__dataclass_fields__}
    if sift:
        args['match'] = SiftMatchParams(**sift)
    args.update(kw)
    summary = dedup_pool(
        osp.join(root, 'pool.txt'), osp.join(root, 'val.txt'), out, removed, **args)
    return summary, out, removed


def read_lines(path):
    with open(path) as f:
        return f.read().splitlines()


def test_recall_precision_and_outputs(data):
    root, pool_lines, truth = data
    summary, out, removed = run(data, 'a')
    rows = [r.split('\t') for r in read_lines(removed)]
    assert rows[0] == ['# pool_path', 'matched_val_path', 'inliers', 'mirrored']
    found = {r[0]: r for r in rows[1:]}
    # recall 1.0 over 12 copies of 6 kinds; precision 1.0 (no other image)
    assert set(found) == set(truth)
    for name, (_, val_path, inliers, mirrored) in found.items():
        assert val_path == truth[name]
        assert int(inliers) >= 15
        assert mirrored == ('flip' if ('flip' in name or 'combo' in name) else 'same')
    kept = read_lines(out)
    # kept = pool order minus removed, labels preserved, broken file kept
    assert kept == [ln for ln in pool_lines if ln.split()[0] not in truth]
    assert 'pool/broken.jpg' in kept
    report = read_lines(out + '.unreadable.txt')
    assert len(report) == 1 and report[0].startswith('pool\t' +
                                                     osp.join(root, 'pool/broken.jpg'))
    assert summary['removed'] == 12 and summary['removed_mirrored'] == 4
    assert summary['pool_unreadable'] == 1 and summary['val_images'] == NUM_VAL
    with open(out + '.summary.json') as f:
        assert json.load(f) == summary


def test_resume_after_kill_is_identical_and_reuses_val_features(data, tmp_path):
    root, pool_lines, _ = data
    ref_summary, ref_out, ref_removed = run(
        data, 'ref', workers=1, drop_unreadable=True)
    assert 'pool/broken.jpg' not in read_lines(ref_out)
    wd = str(tmp_path / 'work')
    done = []

    def die_after_two(chunk_id):
        done.append(chunk_id)
        if len(done) == 2:
            raise KeyboardInterrupt('killed')

    with pytest.raises(KeyboardInterrupt):
        run(data, 'res', work_dir=wd, on_chunk_done=die_after_two, drop_unreadable=True)
    assert not osp.exists(osp.join(root, 'res_kept.txt'))
    logs, rerun = [], []
    summary, out, removed = run(
        data,
        'res',
        work_dir=wd,
        on_chunk_done=rerun.append,
        log=logs.append,
        drop_unreadable=True)
    assert len(pool_lines) == 25
    assert rerun == [2]  # chunks 0 and 1 were finished before the kill
    assert any('2 of 3 chunks already done' in s for s in logs)
    assert any('1 of 1 chunks cached' in s for s in logs)  # val features
    assert read_lines(out) == read_lines(ref_out)
    assert read_lines(removed) == read_lines(ref_removed)
    assert {**summary, 'out': 0, 'removed_list': 0} == \
        {**ref_summary, 'out': 0, 'removed_list': 0}


def test_threshold_argument_changes_the_decision(data, tmp_path):
    _, _, truth = data
    summary, _, removed = run(
        data, 'strict', min_inliers=10000, work_dir=str(tmp_path / 'w'))
    assert summary['removed'] == 0 and len(read_lines(removed)) == 1
    # the same work dir with another threshold is another run: refused
    with pytest.raises(ValueError, match='min_inliers: 10000 -> 15'):
        run(data, 'strict', work_dir=str(tmp_path / 'w'))


def test_argument_errors(data):
    with pytest.raises(ValueError, match='ratio must be in'):
        run(data, 'x', ratio=1.5)
    with pytest.raises(ValueError, match='min_inliers must be an integer'):
        run(data, 'x', min_inliers=1)
    with pytest.raises(TypeError, match='match must be a SiftMatchParams, got dict'):
        run(data, 'x', match=dict(min_inliers=20))


def test_match_params_validate_and_serialise():
    from ssld_mm.data_selection.dedup import SiftMatchParams
    from ssld_mm.data_selection.sift import DEFAULTS
    assert SiftMatchParams().to_dict() == DEFAULTS
    # from a mapping with more keys (dedup_sift.py's parsed flags): the fields only
    picked = SiftMatchParams.from_mapping(dict(DEFAULTS, min_inliers=20, workers=4))
    assert picked.to_dict() == dict(DEFAULTS, min_inliers=20)
    assert picked.match_kwargs() == dict(
        ratio=DEFAULTS['ratio'],
        min_inliers=20,
        candidates=DEFAULTS['candidates'],
        ransac_thresh=DEFAULTS['ransac_thresh'],
        check_flip=DEFAULTS['check_flip'])
    with pytest.raises(ValueError, match='min_inliers must be an integer >= 3, got 2'):
        SiftMatchParams(min_inliers=2)
    with pytest.raises(ValueError, match=r'ratio must be in \(0, 1\), got 1.5'):
        SiftMatchParams(ratio=1.5)
    with pytest.raises(ValueError, match='ransac_thresh must be > 0, got 0'):
        SiftMatchParams(ransac_thresh=0)
