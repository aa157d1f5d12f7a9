"""Top-k selection with a tiny teacher: brute-force equality, shards, resume,
corrupt files, merging with a labeled list."""
import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from conftest import TINY_CLS_CONFIG

from ssld_mm.data_selection import select_topk
from ssld_mm.data_selection.teacher import (build_pipeline, build_teacher,
                                            load_teacher_config)

NUM_GOOD = 45
K = 6


def _make_pool(root):
    """45 small images with random colour mixtures, plus a corrupt file and a
    missing one at fixed lines of the list."""
    rng = np.random.default_rng(0)
    os.makedirs(osp.join(root, 'pool'), exist_ok=True)
    lines = []
    for i in range(NUM_GOOD):
        w = rng.dirichlet(np.ones(3))
        img = (rng.normal(0, 40, (36, 36, 3)) + w * 255).clip(0, 255)
        cv2.imwrite(osp.join(root, 'pool', f'{i:03d}.png'), img.astype(np.uint8))
        lines.append(f'pool/{i:03d}.png')
    with open(osp.join(root, 'pool', 'corrupt.png'), 'wb') as f:
        f.write(b'\x89PNG\r\n\x1a\n this is not a png')
    lines.insert(7, 'pool/corrupt.png')
    lines.insert(20, 'pool/missing.png 2')  # a label in the pool is ignored
    with open(osp.join(root, 'pool.txt'), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return lines


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    """Pool + a tiny random-init teacher whose head is rescaled so that its
    predictions spread over the 3 classes (no near-ties at the top-k cut)."""
    root = str(tmp_path_factory.mktemp('select'))
    lines = _make_pool(root)
    cfg = load_teacher_config(TINY_CLS_CONFIG)
    torch.manual_seed(0)
    ckpt = osp.join(root, 'tiny_random.pth')
    model = build_teacher(cfg, _save_random(cfg, ckpt))
    pipe = build_pipeline(cfg)
    x = torch.stack([
        pipe({'img_path': osp.join(root, p)})['inputs'] for p in lines
        if 'corrupt' not in p and 'missing' not in p
    ])
    with torch.inference_mode():
        f = model.neck(
            model.backbone(model.data_preprocessor({'inputs': x})['inputs']))[-1]
    mean, std = f.mean(0), f.std(0) + 1e-6
    sd = model.state_dict()
    w = 3.0 * sd['head.fc.weight'] / std
    sd['head.fc.weight'] = w
    sd['head.fc.bias'] = -(w * mean).sum(1)
    torch.save({'state_dict': sd}, ckpt)
    return root, ckpt, lines


def _save_random(cfg, path):
    from mmengine.registry import MODELS, DefaultScope
    with DefaultScope.overwrite_default_scope('ssld_mm'):
        model = MODELS.build(cfg.model)
    torch.save({'state_dict': model.state_dict()}, path)
    return path


def brute_force(root, ckpt, lines, k, return_all=False):
    """One image at a time on the CPU, plain Python sorting."""
    cfg = load_teacher_config(TINY_CLS_CONFIG)
    model = build_teacher(cfg, ckpt)
    pipe = build_pipeline(cfg)
    rows = []
    for i, line in enumerate(lines):
        path = osp.join(root, line.split()[0])
        if not osp.isfile(path) or 'corrupt' in path:
            continue
        x = pipe({'img_path': path})['inputs'][None]
        with torch.inference_mode():
            p = model(
                model.data_preprocessor({'inputs': x})['inputs'],
                mode='tensor').softmax(-1)[0]
        rows.append((int(p.argmax()), -float(p.max()), i, line.split()[0]))
    rows.sort()
    out, per_class = [], {}
    for c, neg, i, path in rows:
        per_class.setdefault(c, []).append(-neg)
        if len(per_class[c]) <= k:
            out.append((path, c, -neg))
    if return_all:
        return out, per_class, {path: (c, -neg) for c, neg, _, path in rows}
    return out, per_class


def run(setup, out_name, **kw):
    root, ckpt, _ = setup
    args = dict(
        data_prefix=root,
        chunk_size=8,
        batch_size=3,
        num_workers=0,
        progress=False,
        log=lambda s: None)
    args.update(kw)
    out = osp.join(root, out_name)
    return select_topk(TINY_CLS_CONFIG, ckpt, osp.join(root, 'pool.txt'),
                       kw.pop('k', K), out, **{
                           a: v
                           for a, v in args.items() if a != 'k'
                       }), out


def read(path):
    with open(path) as f:
        return f.read()


def test_equals_brute_force_topk(setup):
    root, ckpt, lines = setup
    expected, per_class = brute_force(root, ckpt, lines, K)
    # the fixture must not sit on a near-tie at the cut, or the test is moot
    for scores in per_class.values():
        assert len(scores) > K, 'every class needs more than k candidates'
        assert scores[K - 1] - scores[K] > 1e-5
    # on the CPU, as the reference: GPUs compute convolutions in TF32 by
    # default (see test_cuda_selection_matches_cpu_up_to_tf32)
    res, out = run(
        setup,
        'sel.txt',
        soft_labels=osp.join(root, 'soft.jsonl'),
        soft_topn=2,
        device='cpu',
        pseudo_labels=True)
    got = [tuple(line.rsplit(' ', 1)) for line in read(out).splitlines()]
    assert got == [(p, str(c)) for p, c, _ in expected]
    soft = [
        json.loads(line) for line in read(osp.join(root, 'soft.jsonl')).splitlines()
    ]
    assert [(s['path'], s['label']) for s in soft] == [(p, c) for p, c, _ in expected]
    for s, (_, c, score) in zip(soft, expected):
        assert s['score'] == pytest.approx(score, abs=1e-5)
        assert s['topk_classes'][0] == c and len(s['topk_probs']) == 2
        assert s['topk_probs'][0] >= s['topk_probs'][1]
    summary = res['summary']
    assert summary['images_seen'] == NUM_GOOD + 2
    assert summary['images_scored'] == NUM_GOOD
    assert summary['images_skipped'] == 2
    assert summary['per_class_counts'] == [K, K, K]
    assert summary['classes_below_k'] == []


def test_corrupt_files_reported_and_summary_of_large_k(setup):
    root, _, _ = setup
    res, out = run(setup, 'all.txt', k=1000)
    report = read(out + '.skipped.txt').splitlines()
    assert len(report) == 2
    assert report[0].startswith(osp.join(root, 'pool/corrupt.png') + '\t')
    assert report[1].startswith(osp.join(root, 'pool/missing.png') + '\t')
    assert 'FileNotFoundError' in report[1]
    s = res['summary']
    assert s['selected'] == NUM_GOOD == sum(s['per_class_counts'])
    assert s['classes_below_k'] == [0, 1, 2]
    on_disk = json.loads(read(out + '.summary.json'))
    assert on_disk == s
    assert 'corrupt' not in read(out) and 'missing' not in read(out)


def test_shards_and_resume_give_identical_output(setup, tmp_path):
    root, _, _ = setup
    ref_res, ref = run(setup, 'ref.txt', soft_labels=osp.join(root, 'ref.jsonl'))
    # 47 entries in chunks of 8: chunks 0..5

    # 1) two shards sharing a work dir: the first cannot merge yet
    wd = str(tmp_path / 'shards')
    out = str(tmp_path / 'sharded.txt')
    r0, _ = run(
        setup, out, work_dir=wd, shard=(0, 2), soft_labels=str(tmp_path / 's.jsonl'))
    assert r0['merged'] is False and not osp.exists(out)
    assert r0['shard_stats']['chunks_run'] == 3
    r1, _ = run(
        setup, out, work_dir=wd, shard=(1, 2), soft_labels=str(tmp_path / 's.jsonl'))
    assert r1['merged'] is True
    assert read(out) == read(ref)
    assert read(str(tmp_path / 's.jsonl')) == read(osp.join(root, 'ref.jsonl'))

    # 2) a run killed after its second chunk (an exception at that moment is
    # what a kill looks like: chunk files are complete, nothing else exists)
    wd = str(tmp_path / 'killed')
    out = str(tmp_path / 'resumed.txt')
    seen = []

    def die_after_two(chunk_id):
        seen.append(chunk_id)
        if len(seen) == 2:
            raise KeyboardInterrupt('killed')

    with pytest.raises(KeyboardInterrupt):
        run(setup, out, work_dir=wd, on_chunk_done=die_after_two)
    assert not osp.exists(out) and not osp.exists(out + '.summary.json')
    # a half-written chunk of a real kill is a temporary file: ignored
    with open(os.path.join(wd, 'chunk_0000002.npz.tmp.999'), 'wb') as f:
        f.write(b'garbage')
    mtimes = {
        c: os.stat(os.path.join(wd, f'chunk_000000{c}.npz')).st_mtime_ns
        for c in (0, 1)
    }
    rerun = []
    res, _ = run(
        setup,
        out,
        work_dir=wd,
        on_chunk_done=rerun.append,
        soft_labels=str(tmp_path / 'r.jsonl'))
    assert rerun == [2, 3, 4, 5]  # finished chunks were not redone
    assert res['shard_stats']['chunks_skipped'] == 2
    for c, t in mtimes.items():
        assert os.stat(os.path.join(wd, f'chunk_000000{c}.npz')).st_mtime_ns == t
    assert read(out) == read(ref)
    assert read(str(tmp_path / 'r.jsonl')) == read(osp.join(root, 'ref.jsonl'))
    a, b = res['summary'], ref_res['summary']
    assert {**a, 'out': None} == {**b, 'out': None}


def test_merge_with_labeled_list(setup, tmp_path):
    root, _, _ = setup
    _, ref = run(setup, 'ref2.txt')
    selected = read(ref).splitlines()
    # selected pool images are unlabeled lines by default (no pseudo label)
    assert all(' ' not in ln and ln.startswith('pool/') for ln in selected)
    labeled = tmp_path / 'train.txt'
    # one labeled path is also selected from the pool: it is not duplicated
    dup_path = selected[0]
    labeled.write_text(f'train/a.jpg 0\n{dup_path} 2\ntrain/b.jpg 1\n')
    res, out = run(setup, str(tmp_path / 'merged.txt'), labeled=str(labeled))
    lines = read(out).splitlines()
    assert lines[:3] == ['train/a.jpg 0', f'{dup_path} 2', 'train/b.jpg 1']
    assert lines[3:] == selected[1:]
    assert res['summary']['selected_already_labeled'] == 1
    assert res['summary']['written_entries'] == len(lines)


def test_refuses_a_different_run_in_the_same_work_dir(setup, tmp_path):
    wd = str(tmp_path / 'wd')
    run(setup, str(tmp_path / 'a.txt'), work_dir=wd)
    with pytest.raises(ValueError, match=r'k: 6 -> 2'):
        run(setup, str(tmp_path / 'a.txt'), work_dir=wd, k=2)


def test_argument_errors(setup, tmp_path):
    with pytest.raises(ValueError, match='k must be an integer >= 1'):
        run(setup, str(tmp_path / 'x.txt'), k=0)
    with pytest.raises(ValueError, match='shard'):
        run(setup, str(tmp_path / 'x.txt'), shard=(2, 2))
    root, ckpt, _ = setup
    with pytest.raises(FileNotFoundError, match='pool list'):
        select_topk(TINY_CLS_CONFIG, ckpt, str(tmp_path / 'none.txt'), 2,
                    str(tmp_path / 'x.txt'))


def test_checkpoint_of_another_model_is_rejected(setup, tmp_path):
    bad = str(tmp_path / 'bad.pth')
    torch.save({'state_dict': {'foo.weight': torch.zeros(1)}}, bad)
    cfg = load_teacher_config(TINY_CLS_CONFIG)
    with pytest.raises(ValueError, match='lacks .* weights of the teacher'):
        build_teacher(cfg, bad)


def test_top_level_data_preprocessor_of_mmpretrain_configs(setup, tmp_path):
    """MMPretrain's own configs keep mean/std in a top-level
    ``data_preprocessor``; the teacher must normalise with it."""
    cfg_file = tmp_path / 'teacher_top_level.py'
    cfg_file.write_text(
        f"_base_ = [{TINY_CLS_CONFIG!r}]\n"
        "data_preprocessor = dict(num_classes=3, mean=[10., 20., 30.],\n"
        "                         std=[2., 4., 8.], to_rgb=False)\n"
        "model = dict(data_preprocessor=None)\n")
    _, ckpt, _ = setup
    model = build_teacher(load_teacher_config(str(cfg_file)), ckpt)
    assert model.data_preprocessor.mean.flatten().tolist() == [10., 20., 30.]
    assert model.data_preprocessor.std.flatten().tolist() == [2., 4., 8.]


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_cuda_selection_matches_cpu_up_to_tf32(setup):
    """On a GPU the teacher runs with PyTorch's defaults (TF32 convolutions
    on Ampere and later): the selection may differ from the CPU's only by
    images whose CPU score lies within TF32 noise of the class's cut."""
    root, ckpt, lines = setup
    expected, per_class, cpu = brute_force(root, ckpt, lines, K, return_all=True)
    _, out = run(setup, 'cuda.txt', device='cuda')
    got = {ln.rsplit(' ', 1)[0] for ln in read(out).splitlines()}
    want = {p for p, _, _ in expected}
    for path in got ^ want:
        c, score = cpu[path]
        assert abs(score - per_class[c][K - 1]) < 5e-3, (path, score)
    assert len(got) == len(want) == 3 * K


def test_batch_plan_never_crosses_a_chunk():
    from ssld_mm.data_selection.teacher import batch_plan

    # pending chunks 0 and 2 of chunk_size 5 (entries 0-4 and 10-13)
    indices = np.array([0, 1, 2, 3, 4, 10, 11, 12, 13])
    assert batch_plan(indices, 5, 2) == [(0, [0, 1], False), (0, [2, 3], False),
                                         (0, [4], True), (2, [5, 6], False),
                                         (2, [7, 8], True)]
    assert batch_plan(np.zeros(0, np.int64), 5, 2) == []


def test_selection_outputs_defaults():
    from ssld_mm.data_selection import SelectionOutputs
    o = SelectionOutputs('sel.txt', data_prefix='data')
    assert (o.labeled_prefix, o.skipped_report, o.summary_file) == \
        ('data', 'sel.txt.skipped.txt', 'sel.txt.summary.json')
    o = SelectionOutputs('sel.txt', labeled_prefix='lab', summary_file='s.json')
    assert (o.labeled_prefix, o.summary_file) == ('lab', 's.json')
