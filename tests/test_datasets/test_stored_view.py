"""Stored-teacher mode: ReplayStoredView, StoredViewEpochHook, store checks,
mixed soft/hard batches, and exactness against the online distiller."""
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from conftest import tiny_classifier_cfg
from mmengine.dataset import Compose
from mmpretrain.structures import DataSample

from ssld_mm.datasets.soft_label_store import (make_index, save_index, save_shard,
                                               select_view)
from ssld_mm.registry import DATASETS, MODELS, TRANSFORMS
from ssld_mm.utils import register_all_modules

CROP = 24


@pytest.fixture(autouse=True)
def scope():
    register_all_modules(init_default_scope=True)


def write_list(tmp_path, n=6, seed=0):
    """``n`` images of varied sizes (structured, so crops differ) + a list."""
    rng = np.random.default_rng(seed)
    folder = tmp_path / 'imgs'
    folder.mkdir()
    lines = []
    for i in range(n):
        h, w = 40 + 3 * i, 52 - 2 * i
        yy, xx = np.mgrid[:h, :w]
        img = np.stack([(xx * 5 + i * 20) % 256, (yy * 7) % 256,
                        rng.integers(0, 256, (h, w))], -1).astype(np.uint8)
        cv2.imwrite(str(folder / f'{i}.png'), img)
        lines.append(f'{i}.png {i % 3}' if i % 2 == 0 else f'{i}.png')
    list_path = tmp_path / 'train.txt'
    list_path.write_text('# a comment line\n' + '\n'.join(lines) + '\n')
    return str(list_path), str(folder)


def online_view(img, seed, padding=None):
    """One view drawn by MMPretrain's own RandomResizedCrop + RandomFlip (the
    online pipeline), with the parameters they drew; with ``padding``,
    RandomCrop(CROP, padding) + RandomFlip (CIFAR-style) instead."""
    if padding is None:
        rrc = TRANSFORMS.build(
            dict(type='mmpretrain.RandomResizedCrop', scale=CROP, backend='cv2'))
    else:
        rrc = TRANSFORMS.build(
            dict(
                type='mmpretrain.RandomCrop',
                crop_size=CROP,
                padding=padding,
                pad_val=7))
        padded = np.pad(img, ((padding, padding), (padding, padding), (0, 0)))
    flip = TRANSFORMS.build(
        dict(type='mmpretrain.RandomFlip', prob=0.5, direction='horizontal'))
    np.random.seed(seed)
    oh, ow, th, tw = rrc.rand_crop_params(img if padding is None else padded)
    if padding is not None:  # store boxes in original-image pixels
        oh, ow = oh - padding, ow - padding
    np.random.seed(seed)
    out = rrc(dict(img=img.copy()))
    np.random.seed(seed + 1)
    out = flip(out)
    return out['img'], [ow, oh, ow + tw - 1, oh + th - 1], bool(out['flip'])


def write_store(store_dir,
                list_path,
                folder,
                probs_fn,
                num_classes,
                topk,
                num_views=3,
                seed=5,
                padding=None,
                **extra):
    """A store whose views are online-pipeline views and whose soft labels
    are ``probs_fn(view image)``, written with the store's own writer."""
    n = sum(1 for line in open(list_path) if line.strip() and not line.startswith('#'))
    rows = {
        k: []
        for k in ('sample_idx', 'view', 'box', 'flip', 'topk_idx', 'topk_prob')
    }
    for i in range(n):
        img = cv2.imread(osp.join(folder, f'{i}.png'))
        for v in range(num_views):
            crop, box, flip = online_view(img, 1000 * seed + 10 * i + v, padding)
            p = probs_fn(crop)
            order = np.argsort(-p, kind='stable')[:topk]
            rows['sample_idx'].append(i)
            rows['view'].append(v)
            rows['box'].append(box)
            rows['flip'].append(flip)
            rows['topk_idx'].append(order)
            rows['topk_prob'].append(p[order].astype(np.float16))
    arrays = {k: np.asarray(v) for k, v in rows.items()}
    import os
    os.makedirs(store_dir, exist_ok=True)
    save_shard(store_dir, 0, arrays, topk)
    save_index(
        store_dir,
        make_index(
            list_path=list_path,
            num_samples=n,
            num_views=num_views,
            topk=topk,
            num_classes=num_classes,
            crop_size=CROP,
            seed=seed,
            samples_per_shard=n,
            **extra))
    return store_dir


def random_probs(num_classes):

    def fn(crop):
        g = np.random.default_rng(int(crop.sum()) % 2**32)
        z = g.normal(0, 2, num_classes)
        return np.exp(z) / np.exp(z).sum()

    return fn


def stored_dataset(list_path, folder, store, replay=None, **kwargs):
    pipeline = [
        dict(type='mmpretrain.LoadImageFromFile'),
        dict(type='ReplayStoredView', store=store, scale=CROP, **(replay or {})),
        dict(
            type='mmpretrain.PackInputs',
            meta_keys=('sample_idx', 'img_path', 'flip', 'stored_view')),
    ]
    cfg = dict(
        type='ImageListDataset',
        ann_file=list_path,
        data_prefix=folder,
        classes=[str(c) for c in range(5)],
        pipeline=pipeline)
    cfg.update(kwargs)
    return DATASETS.build(cfg)


def test_replay_reproduces_online_view_and_soft_label(tmp_path):
    list_path, folder = write_list(tmp_path)
    probs = random_probs(5)
    store = write_store(
        str(tmp_path / 'store'), list_path, folder, probs, num_classes=5, topk=2)
    ds = stored_dataset(list_path, folder, store)
    replay = ds.pipeline.transforms[1]
    with pytest.raises(Exception, match='epoch is not set'):
        ds[0]
    seen_views = set()
    for epoch in range(3):
        replay.set_epoch(epoch)
        for i in range(len(ds)):
            out = ds[i]
            view = select_view(i, epoch, 5, 3)
            assert out['data_samples'].stored_view == view
            seen_views.add((i, view))
            img = cv2.imread(osp.join(folder, f'{i}.png'))
            crop, _, flip = online_view(img, 1000 * 5 + 10 * i + view)
            # bit-identical pixels to the online pipeline's view
            assert np.array_equal(out['inputs'].permute(1, 2, 0).numpy(), crop)
            assert out['data_samples'].flip == flip
            # top-2 kept (float16), the rest spread uniformly
            p = probs(crop)
            top = np.argsort(-p)[:2]
            score = out['data_samples'].gt_score.numpy()
            np.testing.assert_allclose(score[top], p[top], rtol=1e-3)
            rest = np.setdiff1d(np.arange(5), top)
            np.testing.assert_allclose(
                score[rest], (1 - score[top].sum()) / 3, rtol=1e-5)
            assert score.sum() == pytest.approx(1.0, abs=1e-6)
    # three epochs = every view of every sample once
    assert len(seen_views) == 3 * len(ds)
    # labels are kept next to the soft target
    assert ds[0]['data_samples'].gt_label.item() == 0
    assert 'gt_label' not in ds[1]['data_samples']


def test_replay_of_padded_random_crop_views(tmp_path):
    """CIFAR-style RandomCrop(padding) views reach past the border: replayed
    with the same pad value, bit-identical."""
    list_path, folder = write_list(tmp_path)
    # images of 40.. rows: a 24 crop with padding 20 often leaves the image
    store = write_store(
        str(tmp_path / 'store'),
        list_path,
        folder,
        random_probs(5),
        num_classes=5,
        topk=5,
        padding=20)
    ds = stored_dataset(list_path, folder, store)
    ds.pipeline.transforms[1].set_epoch(0)
    with pytest.raises(Exception, match='outside its .*set pad_val'):
        [ds[i] for i in range(len(ds))]
    ds = stored_dataset(list_path, folder, store, replay=dict(pad_val=7))
    ds.pipeline.transforms[1].set_epoch(0)
    outside = 0
    for i in range(len(ds)):
        out = ds[i]
        view = out['data_samples'].stored_view
        img = cv2.imread(osp.join(folder, f'{i}.png'))
        crop, box, _ = online_view(img, 1000 * 5 + 10 * i + view, 20)
        outside += min(box) < 0 or box[2] >= img.shape[1] \
            or box[3] >= img.shape[0]
        assert np.array_equal(out['inputs'].permute(1, 2, 0).numpy(), crop)
    assert outside >= 2  # the padding was exercised


def test_store_mismatch_stops_before_training(tmp_path):
    list_path, folder = write_list(tmp_path)
    store = write_store(
        str(tmp_path / 'store'),
        list_path,
        folder,
        random_probs(5),
        num_classes=5,
        topk=2)
    with pytest.raises(
            ValueError, match=r'crops of \(24, 24\).*scale is '
            r'\(32, 32\)'):
        TRANSFORMS.build(dict(type='ReplayStoredView', store=store, scale=32))
    # one entry fewer
    short = tmp_path / 'short.txt'
    short.write_text('\n'.join(open(list_path).read().splitlines()[:-1]))
    with pytest.raises(ValueError, match='generated for 6 entries.*has 5'):
        stored_dataset(str(short), folder, store)
    # same count, other contents
    other = tmp_path / 'other.txt'
    other.write_text(open(list_path).read().replace('5.png', '4.png'))
    with pytest.raises(ValueError, match='other contents'):
        stored_dataset(str(other), folder, store)
    # a subset of the list shifts sample_idx: refused as well
    with pytest.raises(ValueError, match='has 3'):
        stored_dataset(list_path, folder, store, indices=3)
    with pytest.raises(FileNotFoundError, match='does not exist'):
        TRANSFORMS.build(
            dict(type='ReplayStoredView', store=str(tmp_path / 'nope'), scale=CROP))
    # resize settings come from the store's view sampler; others are refused
    assert TRANSFORMS.build(dict(type='ReplayStoredView', store=store,
                                 scale=CROP)).interpolation == 'bilinear'
    sampler = dict(RandomResizedCrop=dict(interpolation='bicubic', backend='pillow'))
    store2 = write_store(
        str(tmp_path / 'store2'),
        list_path,
        folder,
        random_probs(5),
        num_classes=5,
        topk=2,
        view_sampler=sampler)
    t = TRANSFORMS.build(dict(type='ReplayStoredView', store=store2, scale=CROP))
    assert (t.interpolation, t.backend) == ('bicubic', 'pillow')
    with pytest.raises(
            ValueError,
            match="interpolation='bilinear', but .*"
            "rendered with interpolation='bicubic'"):
        TRANSFORMS.build(
            dict(
                type='ReplayStoredView',
                store=store2,
                scale=CROP,
                interpolation='bilinear'))


def test_mixed_soft_and_hard_batch_through_preprocessor(tmp_path):
    """A batch with gt_score on some samples and gt_label on others (a
    select_topk list) is stacked, moved and kept per sample."""
    pre = MODELS.build(
        dict(
            type='SSLDDataPreprocessor',
            mean=[0.] * 3,
            std=[1.] * 3,
            num_classes=3,
            batch_augments=dict(augments=dict(type='mmpretrain.Mixup', alpha=1.0))))
    samples = [
        DataSample().set_gt_score(torch.tensor([.2, .3, .5])),
        DataSample().set_gt_label(2),
        DataSample().set_gt_label(1).set_gt_score(torch.tensor([.1, .8, .1]))
    ]
    data = dict(
        inputs=[torch.zeros(3, 4, 4, dtype=torch.uint8)] * 3, data_samples=samples)
    out = pre(data, True)['data_samples']
    assert torch.equal(out[0].gt_score, torch.tensor([.2, .3, .5]))
    assert 'gt_label' not in out[0]
    assert 'gt_score' not in out[1] and out[1].gt_label.tolist() == [2]
    assert out[2].gt_label.tolist() == [1]
    assert torch.equal(out[2].gt_score, torch.tensor([.1, .8, .1]))
    # every sample soft-labeled: Mixup mixes the soft targets
    samples = [DataSample().set_gt_score(torch.eye(3)[i % 3]) for i in range(6)]
    np.random.seed(0)
    torch.manual_seed(0)
    out = pre(
        dict(
            inputs=[torch.zeros(3, 4, 4, dtype=torch.uint8)] * 6, data_samples=samples),
        True)['data_samples']
    scores = torch.stack([s.gt_score for s in out])
    assert ((scores > 0).sum(1) == 2).any()  # two classes mixed
    torch.testing.assert_close(scores.sum(1), torch.ones(6))


def test_soft_labels_file_becomes_gt_score(tmp_path):
    import json
    list_path, folder = write_list(tmp_path)
    soft = tmp_path / 'soft.jsonl'
    soft.write_text('\n'.join([
        json.dumps(
            dict(
                path='1.png',
                label=2,
                score=0.7,
                topk_classes=[2, 0],
                topk_probs=[0.7, 0.2])),
        json.dumps(
            dict(path='3.png', label=1, score=0.9, topk_classes=[1], topk_probs=[0.9])),
    ]))
    pipeline = [
        dict(type='mmpretrain.LoadImageFromFile'),
        dict(type='mmpretrain.PackInputs')
    ]
    ds = DATASETS.build(
        dict(
            type='ImageListDataset',
            ann_file=list_path,
            data_prefix=folder,
            classes=['a', 'b', 'c'],
            soft_labels=str(soft),
            pipeline=pipeline))
    s1 = ds[1]['data_samples']
    np.testing.assert_allclose(s1.gt_score.numpy(), [0.2, 0.1, 0.7], rtol=1e-6)
    np.testing.assert_allclose(
        ds[3]['data_samples'].gt_score.numpy(), [0.05, 0.9, 0.05], rtol=1e-6)
    assert 'gt_score' not in ds[0]['data_samples']  # labeled line, no soft
    assert ds[0]['data_samples'].gt_label.item() == 0
    with pytest.raises(ValueError, match='needs the number of classes'):
        DATASETS.build(
            dict(
                type='ImageListDataset',
                ann_file=list_path,
                data_prefix=folder,
                soft_labels=str(soft)))
    bad = tmp_path / 'bad.jsonl'
    bad.write_text('{"path": "1.png", "topk_classes": [7], '
                   '"topk_probs": [0.5]}\n')
    with pytest.raises(ValueError, match=r'bad.jsonl:1: .*classes in \[0, 3\)'):
        DATASETS.build(
            dict(
                type='ImageListDataset',
                ann_file=list_path,
                data_prefix=folder,
                classes=['a', 'b', 'c'],
                soft_labels=str(bad)))


@pytest.mark.parametrize('loss',
                         ['SymmetricKLLoss', 'JSDivLoss', 'KLDivLoss', 'SoftCELoss'])
def test_stored_mode_loss_equals_online_distiller_loss(tmp_path, loss):
    """K = all classes, float16 storage: an ImageClassifier with the
    soft-label head, on replayed views, gives the online distiller's loss on
    the same images, crops and flips."""
    pre = dict(type='SSLDDataPreprocessor', mean=[120.] * 3, std=[60.] * 3, to_rgb=True)
    torch.manual_seed(0)
    distiller = MODELS.build(
        dict(
            type='SSLDDistiller',
            student=tiny_classifier_cfg(8, 5),
            teacher=tiny_classifier_cfg(16, 5),
            teacher_ckpt=None,
            distill_loss=dict(type=loss),
            data_preprocessor=pre))
    with torch.no_grad():  # a confident teacher: far from uniform targets
        distiller.teacher.head.fc.weight.mul_(30)
    distiller.train()

    def teacher_probs(crop):
        x = torch.from_numpy(crop.copy()).permute(2, 0, 1).contiguous()
        inputs = distiller.data_preprocessor(dict(inputs=[x]))['inputs']
        return distiller.teacher_logits(inputs).softmax(1)[0].double().numpy()

    list_path, folder = write_list(tmp_path)
    store = write_store(
        str(tmp_path / 'store'),
        list_path,
        folder,
        teacher_probs,
        num_classes=5,
        topk=5)
    ds = stored_dataset(list_path, folder, store)
    ds.pipeline.transforms[1].set_epoch(1)
    batch = [ds[i] for i in range(len(ds))]
    data = dict(
        inputs=[b['inputs'] for b in batch],
        data_samples=[b['data_samples'] for b in batch])

    stored = MODELS.build(
        dict(
            tiny_classifier_cfg(8, 5, 'SoftLabelClsHead', distill_loss=dict(type=loss)),
            data_preprocessor=pre))
    stored.load_state_dict(distiller.student.state_dict())
    stored.train()
    got = stored(**stored.data_preprocessor(data, True), mode='loss')
    # the online distiller on the same crops: images from the *online*
    # pipeline (checked bit-identical to the replayed ones above)
    online_inputs = []
    for b in batch:
        i, view = b['data_samples'].sample_idx, b['data_samples'].stored_view
        img = cv2.imread(osp.join(folder, f'{i}.png'))
        crop, _, _ = online_view(img, 1000 * 5 + 10 * i + view)
        online_inputs.append(torch.from_numpy(crop.copy()).permute(2, 0, 1))
        assert torch.equal(online_inputs[-1], b['inputs'])
    online = distiller(
        **distiller.data_preprocessor(
            dict(inputs=online_inputs, data_samples=[DataSample()] * len(ds)), True),
        mode='loss')
    assert set(got) == set(online) == {'loss_distill'}
    assert online['loss_distill'] > 0.01
    assert abs(got["loss_distill"].item() -
               online['loss_distill'].item()) <= 1e-3, (got, online)


class _RecordViews:
    """A hook instance (not registered) recording the replayed views."""

    def __new__(cls):
        from mmengine.hooks import Hook

        class Record(Hook):

            def __init__(self):
                self.views = {}

            def after_train_iter(self,
                                 runner,
                                 batch_idx,
                                 data_batch=None,
                                 outputs=None):
                for s in data_batch['data_samples']:
                    self.views[runner.epoch, s.sample_idx] = s.stored_view

        return Record()


def _stored_runner(tmp_path,
                   list_path,
                   folder,
                   store,
                   name,
                   max_epochs,
                   resume=False,
                   workers=0):
    import uuid

    from conftest import TINY_CLS_CONFIG
    from mmengine.config import Config
    from mmengine.runner import Runner
    cfg = Config.fromfile(TINY_CLS_CONFIG)
    cfg.work_dir = str(tmp_path / name)
    cfg.experiment_name = f'stored_{uuid.uuid4().hex}'
    cfg.model.head = dict(type='SoftLabelClsHead', num_classes=5, in_channels=64)
    cfg.model.data_preprocessor.type = 'SSLDDataPreprocessor'
    cfg.model.data_preprocessor.num_classes = 5
    ds = dict(
        type='ImageListDataset',
        ann_file=list_path,
        data_prefix=folder,
        classes=[str(c) for c in range(5)],
        pipeline=[
            dict(type='mmpretrain.LoadImageFromFile'),
            dict(type='ReplayStoredView', store=store, scale=CROP),
            dict(type='mmpretrain.PackInputs', meta_keys=('sample_idx', 'stored_view'))
        ])
    cfg.train_dataloader = dict(
        batch_size=3,
        num_workers=workers,
        persistent_workers=workers > 0,
        dataset=ds,
        sampler=dict(type='DefaultSampler', shuffle=True))
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.test_dataloader = cfg.test_cfg = cfg.test_evaluator = None
    cfg.train_cfg = dict(by_epoch=True, max_epochs=max_epochs)
    cfg.param_scheduler = None
    cfg.resume = resume
    record = _RecordViews()
    cfg.custom_hooks = [dict(type='StoredViewEpochHook')]
    runner = Runner.from_cfg(cfg)
    runner.register_hook(record)
    return runner, record


def test_epoch_hook_persistent_workers_and_exact_resume(tmp_path):
    from mmengine.registry import DefaultScope
    list_path, folder = write_list(tmp_path)
    store = write_store(
        str(tmp_path / 'store'),
        list_path,
        folder,
        random_probs(5),
        num_classes=5,
        topk=2)
    expected = {(e, i): select_view(i, e, 5, 3) for e in range(2) for i in range(6)}
    assert any(expected[0, i] != expected[1, i] for i in range(6))
    try:
        # persistent DataLoader workers see every epoch's views
        runner, record = _stored_runner(
            tmp_path, list_path, folder, store, 'full', max_epochs=2, workers=1)
        runner.train()
        assert record.views == expected
        # stop after epoch 1, resume for epoch 2: the same views
        runner, first = _stored_runner(
            tmp_path, list_path, folder, store, 'split', max_epochs=1)
        runner.train()
        runner, second = _stored_runner(
            tmp_path, list_path, folder, store, 'split', max_epochs=2, resume=True)
        runner.train()
        assert set(k[0] for k in second.views) == {1}
        assert {**first.views, **second.views} == expected
    finally:
        DefaultScope._instance_dict.clear()


def test_epoch_hook_checks_datasets_that_did_not_check_themselves(tmp_path):
    from types import SimpleNamespace

    from mmengine.runner import EpochBasedTrainLoop, IterBasedTrainLoop

    from ssld_mm.engine.hooks import StoredViewEpochHook
    list_path, folder = write_list(tmp_path)
    store = write_store(
        str(tmp_path / 'store'),
        list_path,
        folder,
        random_probs(5),
        num_classes=5,
        topk=2)

    class Plain:  # a dataset that knows nothing about stores

        def __init__(self, n):
            self.n = n
            self.pipeline = Compose(
                [dict(type='ReplayStoredView', store=store, scale=CROP)])

        def __len__(self):
            return self.n

    def runner(dataset, loop=EpochBasedTrainLoop, epoch=0):
        return SimpleNamespace(
            train_loop=object.__new__(loop),
            epoch=epoch,
            train_dataloader=SimpleNamespace(dataset=dataset))

    hook = StoredViewEpochHook()
    with pytest.raises(ValueError, match='generated for 6 entries.*has 4'):
        hook.before_train(runner(Plain(4)))
    ok = Plain(6)
    hook.before_train(runner(ok))
    hook.before_train_epoch(runner(ok, epoch=2))
    assert ok.pipeline.transforms[0].epoch == 2
    with pytest.raises(ValueError, match='no ssld_mm.ReplayStoredView'):
        hook.before_train(runner(SimpleNamespace(pipeline=Compose([]))))
    with pytest.raises(ValueError, match='epoch-based train loop'):
        hook.before_train(runner(ok, loop=IterBasedTrainLoop))
