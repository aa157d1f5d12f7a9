"""A plain ImageClassifier with the soft-label head trains through
tools/train.py on a list whose soft labels come from select_topk output."""
import glob
import json
import os.path as osp

import torch
from conftest import REPO, TINY_CLS_CONFIG, run_tool, write_image_folder

TRAIN = osp.join(REPO, 'tools', 'train.py')


def test_image_classifier_trains_from_soft_label_list(tmp_path):
    folder = write_image_folder(
        str(tmp_path / 'data'), num_classes=3, per_class=6, size=32)
    lines, soft = [], []
    for c in range(3):
        for j in range(6):
            path = f'class_{c}/img_{j}.png'
            if j < 2:  # labeled lines: hard-label term only
                lines.append(f'{path} {c}')
            else:  # select_topk.py --soft-labels style, no label in the list
                lines.append(path)
                soft.append(
                    json.dumps(
                        dict(
                            path=path,
                            label=c,
                            score=0.8,
                            topk_classes=[c, (c + 1) % 3],
                            topk_probs=[0.8, 0.15])))
    (tmp_path / 'train.txt').write_text('\n'.join(lines) + '\n')
    (tmp_path / 'soft.jsonl').write_text('\n'.join(soft) + '\n')
    cfg = tmp_path / 'soft_cls.py'
    cfg.write_text(f"""
_base_ = [{TINY_CLS_CONFIG!r}]
model = dict(
    data_preprocessor=dict(type='SSLDDataPreprocessor'),
    head=dict(type='SoftLabelClsHead', gt_loss_weight=0.5,
              distill_loss=dict(type='SymmetricKLLoss')))
train_dataloader = dict(dataset=dict(
    _delete_=True, type='ImageListDataset', ann_file={str(tmp_path / 'train.txt')!r},
    data_prefix={folder!r}, classes=['a', 'b', 'c'],
    soft_labels={str(tmp_path / 'soft.jsonl')!r},
    pipeline={{{{_base_.pipeline}}}}))
val_dataloader = dict(dataset=dict(data_root={folder!r}))
test_dataloader = val_dataloader
optim_wrapper = dict(optimizer=dict(lr=0.02))
train_cfg = dict(max_epochs=4, val_interval=4)
param_scheduler = []
default_hooks = dict(checkpoint=dict(interval=4))
""")
    work = tmp_path / 'work'
    run_tool([TRAIN, str(cfg), '--work-dir', str(work)])
    scalars = glob.glob(str(work / '*' / 'vis_data' / 'scalars.json'))
    assert len(scalars) == 1
    logs = [json.loads(line) for line in open(scalars[0])]
    train = [r for r in logs if 'loss_distill' in r]
    # both terms are logged, the soft term on every iteration
    assert len(train) == 4 * 4 and all('loss_gt' in r for r in train)
    first = sum(r['loss_distill'] for r in train[:4]) / 4
    last = sum(r['loss_distill'] for r in train[-4:]) / 4
    assert last < first, (first, last)
    acc = [r for r in logs if 'accuracy/top1' in r]
    assert acc and acc[-1]['accuracy/top1'] > 100 / 3
    ckpt = torch.load(work / 'epoch_4.pth', map_location='cpu', weights_only=False)
    assert 'head.fc.weight' in ckpt['state_dict']


def test_generated_store_replays_and_trains_through_train_py(tmp_path):
    """generate_soft_labels (the teacher once) -> ReplayStoredView: the
    teacher's distribution on every replayed view is the stored one; then the
    stored-mode classifier trains through tools/train.py, no teacher."""
    import numpy as np
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    from ssld_mm.data_selection.soft_labels import generate_soft_labels
    from ssld_mm.registry import DATASETS, MODELS
    from ssld_mm.utils import register_all_modules

    folder = write_image_folder(
        str(tmp_path / 'data'), num_classes=3, per_class=3, size=40)
    paths = sorted(glob.glob(osp.join(folder, '*', '*.png')))
    list_path = tmp_path / 'train.txt'
    list_path.write_text('\n'.join(
        f'{osp.relpath(p, folder)} {osp.basename(osp.dirname(p))[-1]}'
        for p in paths) + '\n')
    register_all_modules(init_default_scope=True)
    teacher_cfg = Config.fromfile(TINY_CLS_CONFIG)
    torch.manual_seed(0)
    teacher = MODELS.build(teacher_cfg.model).eval()
    with torch.no_grad():
        teacher.head.fc.weight.mul_(30)
    torch.save({'state_dict': teacher.state_dict()}, tmp_path / 'teacher.pth')

    student = tmp_path / 'student.py'
    student.write_text(f"""
_base_ = [{TINY_CLS_CONFIG!r}]
train_dataloader = dict(dataset=dict(
    _delete_=True, type='ImageListDataset', ann_file={str(list_path)!r},
    data_prefix={folder!r}, classes=['a', 'b', 'c'], pipeline=[
        dict(type='mmpretrain.LoadImageFromFile'),
        dict(type='mmpretrain.RandomResizedCrop', scale=24),
        dict(type='mmpretrain.RandomFlip', prob=0.5, direction='horizontal'),
        dict(type='mmpretrain.PackInputs')]))
val_dataloader = dict(dataset=dict(data_root={folder!r}))
test_dataloader = val_dataloader
""")
    store = str(tmp_path / 'store')
    generate_soft_labels(
        TINY_CLS_CONFIG,
        str(tmp_path / 'teacher.pth'),
        str(student),
        str(list_path),
        store,
        views=2,
        topk=3,
        seed=3,
        data_prefix=folder,
        batch_size=4,
        num_workers=0,
        progress=False,
        log=lambda *_: None)

    ds = DATASETS.build(
        dict(
            type='ImageListDataset',
            ann_file=str(list_path),
            data_prefix=folder,
            classes=['a', 'b', 'c'],
            pipeline=[
                dict(type='mmpretrain.LoadImageFromFile'),
                dict(type='ReplayStoredView', store=store, scale=24),
                dict(type='mmpretrain.PackInputs')
            ]))
    replay = ds.pipeline.transforms[1]
    for epoch in (0, 1):
        replay.set_epoch(epoch)
        for i in range(len(ds)):
            out = ds[i]
            data = teacher.data_preprocessor(dict(inputs=[out['inputs']]))
            with torch.no_grad():
                probs = teacher(data['inputs'], mode='tensor').softmax(1)[0]
            np.testing.assert_allclose(
                out['data_samples'].gt_score.numpy(), probs.numpy(), atol=2e-3)
    DefaultScope._instance_dict.clear()

    stored = tmp_path / 'stored.py'
    stored.write_text(f"""
_base_ = [{str(student)!r}]
model = dict(data_preprocessor=dict(type='SSLDDataPreprocessor'),
             head=dict(type='SoftLabelClsHead'))
train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='mmpretrain.LoadImageFromFile'),
    dict(type='ReplayStoredView', store={store!r}, scale=24),
    dict(type='mmpretrain.PackInputs')]))
custom_hooks = [dict(type='StoredViewEpochHook')]
param_scheduler = []
""")
    work = tmp_path / 'work'
    run_tool([TRAIN, str(stored), '--work-dir', str(work)])
    logs = [
        json.loads(line)
        for line in open(glob.glob(str(work / '*' / 'vis_data' / 'scalars.json'))[0])
    ]
    train = [r for r in logs if 'loss_distill' in r]
    assert len(train) == 2 * 2 and 'loss_gt' not in train[0]
    assert osp.isfile(work / 'epoch_2.pth')
