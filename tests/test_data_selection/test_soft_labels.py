"""generate_soft_labels: views match the student's pipeline, top-K matches a
direct teacher forward, identical output on re-run / after a kill / sharded,
corrupt images skipped and listed."""
import hashlib
import os
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from conftest import REPO, TINY_CLS_CONFIG, run_tool
from mmengine.config import Config

from ssld_mm.data_selection.soft_labels import (ViewSampler, find_view_transforms,
                                                generate_soft_labels,
                                                teacher_view_probs, view_seed)
from ssld_mm.data_selection.teacher import (build_pipeline, build_teacher,
                                            load_teacher_config)
from ssld_mm.datasets import SoftLabelStore

M, K, SEED, PER_SHARD = 3, 2, 5, 4
CORRUPT = 6  # entry of the list that is not an image


def student_cfg(crop=16):
    pipeline = [
        dict(type='mmpretrain.LoadImageFromFile'),
        dict(
            type='mmpretrain.RandomResizedCrop',
            scale=crop,
            crop_ratio_range=(0.2, 1.0)),
        dict(type='mmpretrain.RandomFlip', prob=0.5, direction='horizontal'),
        dict(type='mmpretrain.PackInputs'),
    ]
    return Config(
        dict(
            default_scope='mmpretrain',
            train_dataloader=dict(
                dataset=dict(
                    type='ConcatDataset',
                    datasets=[
                        dict(type='ImageListDataset', ann_file='x', pipeline=pipeline)
                    ]))))


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('soft'))
    rng = np.random.default_rng(0)
    lines = []
    for i in range(10):
        h, w = 20 + 3 * i, 40 - 2 * i
        img = (rng.normal(0, 50, (h, w, 3)) + rng.dirichlet(np.ones(3)) * 255)
        cv2.imwrite(osp.join(root, f'{i}.png'), img.clip(0, 255).astype(np.uint8))
        lines.append(f'{i}.png')
    with open(osp.join(root, 'bad.png'), 'wb') as f:
        f.write(b'not a png')
    lines.insert(CORRUPT, 'bad.png 1')
    with open(osp.join(root, 'list.txt'), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    cfg = load_teacher_config(TINY_CLS_CONFIG)
    from mmengine.registry import MODELS, DefaultScope
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('ssld_mm'):
        model = MODELS.build(cfg.model)
    sd = model.state_dict()
    sd['head.fc.weight'] *= 30  # spread the probabilities (no near-ties)
    ckpt = osp.join(root, 'teacher.pth')
    torch.save({'state_dict': sd}, ckpt)
    return root, ckpt


def gen(setup, out, **kw):
    root, ckpt = setup
    args = dict(
        views=M,
        topk=K,
        seed=SEED,
        data_prefix=root,
        samples_per_shard=PER_SHARD,
        batch_size=2,
        num_workers=0,
        progress=False,
        log=lambda *_: None)
    args.update(kw)
    return generate_soft_labels(TINY_CLS_CONFIG, ckpt, student_cfg(),
                                osp.join(root, 'list.txt'), out, **args)


def digest(store):
    return {
        f: hashlib.sha1(open(osp.join(store, f), 'rb').read()).hexdigest()
        for f in sorted(os.listdir(store))
        if f.startswith('shard_') or f in ('index.json', 'skipped.txt')
    }


@pytest.fixture(scope='module')
def store(setup):
    out = osp.join(setup[0], 'store')
    res = gen(setup, out)
    assert res['complete'] and res['shard_stats']['images'] == 11
    return out


def test_store_contents_and_skipped(setup, store):
    s = SoftLabelStore(store)
    assert (s.num_samples, s.num_views, s.topk, s.num_classes) == (11, M, K, 3)
    assert s.crop_size == (16, 16) and s.seed == SEED
    assert len(s.index['shards']) == 3
    assert s.index['view_sampler']['RandomResizedCrop']['crop_ratio_range'] == [
        0.2, 1.0
    ]
    assert not s.has(CORRUPT) and s.index['num_skipped'] == 1
    line = open(osp.join(store, 'skipped.txt')).read().strip().split('\t')
    assert line[0] == str(CORRUPT) and line[1].endswith('bad.png')
    probs = s.views(0)['topk_prob'].astype(np.float32)
    assert (np.diff(probs, axis=1) <= 0).all()  # descending
    flips = np.concatenate([s.views(i)['flip'] for i in range(11) if i != CORRUPT])
    assert 0 < flips.sum() < len(flips)  # both flips occur


def test_views_match_pipeline_and_teacher(setup, store):
    """Rendering a stored view == the student's own RandomResizedCrop +
    RandomFlip seeded with view_seed; stored top-K == a direct forward."""
    root, ckpt = setup
    s = SoftLabelStore(store)
    cfg = student_cfg()
    sampler = ViewSampler.from_config(cfg, SEED)
    pipe = build_pipeline(
        cfg,
        find_view_transforms(cfg)['load'] +
        [find_view_transforms(cfg)['crop'],
         find_view_transforms(cfg)['flip']])
    teacher = build_teacher(load_teacher_config(TINY_CLS_CONFIG), ckpt)
    entries = [ln.split()[0] for ln in open(osp.join(root, 'list.txt'))]
    for i in (0, 5, 10):
        img = cv2.imread(osp.join(root, entries[i]))
        v = s.views(i)
        for j in range(M):
            np.random.seed(view_seed(SEED, i, j))
            expected = pipe({'img_path': osp.join(root, entries[i])})
            box, flip = v['box'][j], bool(v['flip'][j])
            assert expected['flip'] == flip
            assert 0 <= box[0] <= box[2] < img.shape[1]
            assert 0 <= box[1] <= box[3] < img.shape[0]
            rendered = sampler.render(img, box, flip)
            np.testing.assert_array_equal(rendered, expected['img'])
            x = torch.from_numpy(rendered.transpose(2, 0, 1).copy())[None]
            with torch.inference_mode():
                p = teacher_view_probs(teacher, x)[0]
            tp, tc = p.topk(K)
            assert v['topk_idx'][j].tolist() == tc.tolist()
            np.testing.assert_allclose(v['topk_prob'][j], tp.numpy(), atol=1e-3)


def test_rerun_interrupt_and_shards_identical(setup, store, tmp_path):
    ref = digest(store)
    assert gen(setup, store)['shard_stats'] is None  # complete: nothing to do
    # killed after its first shard, then resumed with the same command
    out = str(tmp_path / 'killed')

    def kill(chunk_id):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        gen(setup, out, on_chunk_done=kill)
    assert sorted(f for f in os.listdir(out)
                  if f.endswith('.npz')) == ['shard_00000.npz']
    res = gen(setup, out)
    assert res['shard_stats']['chunks_skipped'] == 1
    assert digest(out) == ref
    # two processes sharing the directory; the last one writes index.json
    out2 = str(tmp_path / 'sharded')
    assert gen(setup, out2, shard=(1, 2))['complete'] is False
    assert not osp.exists(osp.join(out2, 'index.json'))
    assert gen(setup, out2, shard=(0, 2), batch_size=2)['complete'] is True
    assert digest(out2) == ref
    with pytest.raises(ValueError, match='seed: 5 -> 6'):
        gen(setup, out2, seed=6)


def test_find_view_transforms_errors():
    cfg = student_cfg()
    found = find_view_transforms(cfg)
    assert [t['type'] for t in found['rest']] == ['mmpretrain.PackInputs']
    bad = Config(
        dict(train_pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='ColorJitter'),
            dict(type='RandomResizedCrop', scale=8)
        ]))
    with pytest.raises(ValueError, match=r"\['ColorJitter'\] before RandomResizedCrop"):
        find_view_transforms(bad)
    with pytest.raises(ValueError, match='no RandomResizedCrop or RandomCrop'):
        find_view_transforms(Config(dict(train_pipeline=[dict(type='CenterCrop')])))
    with pytest.raises(ValueError, match='pad_if_needed=False'):
        find_view_transforms(
            Config(
                dict(train_pipeline=[
                    dict(type='RandomCrop', crop_size=8, pad_if_needed=True)
                ])))
    vflip = Config(
        dict(train_pipeline=[
            dict(type='RandomResizedCrop', scale=8),
            dict(type='RandomFlip', prob=0.5, direction='vertical')
        ]))
    with pytest.raises(ValueError, match='horizontal'):
        find_view_transforms(vflip)


def test_cli(setup, tmp_path, monkeypatch):
    root, ckpt = setup
    cfg_path = str(tmp_path / 'student.py')
    student_cfg().dump(cfg_path)
    out = str(tmp_path / 'cli_store')
    args = [
        TINY_CLS_CONFIG, ckpt, '--train-config', cfg_path, '--list',
        osp.join(root, 'list.txt'), '--data-prefix', root, '--views', '2', '--topk',
        '3', '--out', out, '--num-workers', '0', '--samples-per-shard', '6',
        '--teacher-autocast', 'bfloat16', '--channels-last'
    ]
    # rank 1 of 2 under a launcher (in process), then shard 0/2 as a script
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'gen_tool', osp.join(REPO, 'tools/data/generate_soft_labels.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    for k, v in dict(RANK='1', WORLD_SIZE='2', LOCAL_RANK='0').items():
        monkeypatch.setenv(k, v)
    assert tool.main(args + ['--launcher', 'pytorch', '--no-progress']) == 0
    assert sorted(f for f in os.listdir(out)
                  if f.endswith('.npz')) == ['shard_00001.npz']
    proc = run_tool([osp.join(REPO, 'tools/data/generate_soft_labels.py')] + args +
                    ['--shard', '0/2'])
    assert 'img/s' in proc.stdout + proc.stderr
    s = SoftLabelStore(out)
    assert (s.num_views, s.topk, s.index['teacher_autocast']) == (2, 3, 'bfloat16')
    assert s.views(3)['topk_prob'].astype(float).sum(1) == pytest.approx([1, 1],
                                                                         abs=2e-2)


def test_random_crop_with_padding_views_match_pipeline(setup):
    """Resize + RandomCrop(padding) + RandomFlip (the demo's pipeline): boxes
    in the resized frame, leaving it by up to the padding; rendering them
    equals the pipeline's own output under the view seed."""
    root, _ = setup
    pipeline = [
        dict(type='mmpretrain.LoadImageFromFile'),
        dict(type='mmpretrain.Resize', scale=(20, 16)),
        dict(type='mmpretrain.RandomCrop', crop_size=16, padding=3, pad_val=7),
        dict(type='mmpretrain.RandomFlip', prob=0.5),
        dict(type='mmpretrain.PackInputs')
    ]
    cfg = Config(dict(default_scope='mmpretrain', train_pipeline=pipeline))
    found = find_view_transforms(cfg)
    assert [t['type'] for t in found['load']
            ] == ['mmpretrain.LoadImageFromFile', 'mmpretrain.Resize']
    sampler = ViewSampler.from_config(cfg, SEED)
    assert sampler.crop_size == (16, 16)
    assert sampler.describe()['RandomCrop'] == dict(
        crop_size=[16, 16], padding=[3, 3, 3, 3], pad_val=7)
    load = build_pipeline(cfg, found['load'])
    full = build_pipeline(cfg, pipeline[:-1])
    outside = 0
    for i in range(4):
        path = osp.join(root, f'{i}.png')
        img = load({'img_path': path})['img']
        assert img.shape[:2] == (16, 20)
        for j in range(4):
            box, flip = sampler.params(img.shape[:2], i, j)
            assert box[2] - box[0] == 15 and box[3] - box[1] == 15
            assert -3 <= box[0] and box[2] <= 19 + 3 and -3 <= box[1]
            outside += int(box[0] < 0 or box[1] < 0 or box[3] > 15)
            np.random.seed(view_seed(SEED, i, j))
            expected = full({'img_path': path})
            assert expected['flip'] == flip
            np.testing.assert_array_equal(
                sampler.render(img, box, flip), expected['img'])
    assert outside > 0  # padding was exercised
