"""Distillation end to end through tools/: train, resume, DDP, export, user student."""
import glob
import os.path as osp
import shutil
import textwrap

import pytest
import torch
from conftest import (REPO, TINY_DISTILL_CONFIG, assert_each_rank_trained_its_share,
                      free_port, rank_recorder_config, run_tool)

TRAIN = osp.join(REPO, 'tools', 'train.py')
EXTRACT = osp.join(REPO, 'tools', 'model_converters', 'extract_student.py')
CONFIG = TINY_DISTILL_CONFIG


def opts(folder, ckpt, *extra):
    return [
        '--cfg-options', f'model.teacher_ckpt={ckpt}',
        f'train_dataloader.dataset.data_root={folder}',
        f'val_dataloader.dataset.data_root={folder}',
        f'test_dataloader.dataset.data_root={folder}', *extra
    ]


def sha256(path) -> str:
    import hashlib
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def state(path):
    return torch.load(path, map_location='cpu', weights_only=False)['state_dict']


def test_distill_train_resume_and_export(tmp_path, image_folder, tiny_teacher_ckpt):
    full = tmp_path / 'full'
    proc = run_tool([
        TRAIN, CONFIG, '--work-dir',
        str(full), *opts(image_folder, tiny_teacher_ckpt)
    ])
    out = proc.stdout + proc.stderr
    assert 'loss_distill' in out and 'accuracy/top1' in out
    assert 'Teacher accuracy on the validation set: top-1' in out
    final = state(full / 'epoch_2.pth')
    assert all(k.startswith('student.') for k in final), list(final)[:5]

    # resume from epoch 1 (teacher reloaded from tiny_teacher_ckpt) == uninterrupted
    part = tmp_path / 'part'
    part.mkdir()
    shutil.copy(full / 'epoch_1.pth', part / 'epoch_1.pth')
    digest = sha256(part / 'epoch_1.pth')
    proc = run_tool([
        TRAIN, CONFIG, '--work-dir',
        str(part), '--resume',
        str(part / 'epoch_1.pth'), *opts(image_folder, tiny_teacher_ckpt)
    ])
    # it really resumed: a fresh run (same seed) would reach the same weights,
    # but would log epoch 1 and rewrite epoch_1.pth
    out = proc.stdout + proc.stderr
    assert 'resumed epoch: 1' in out, 'no "resumed epoch: 1" in the log\n' + out[-3000:]
    assert 'Epoch(train) [2]' in out and 'Epoch(train) [1]' not in out, (
        'the resumed run should train epoch 2 only\n' + out[-3000:])
    assert sha256(part / 'epoch_1.pth') == digest, 'epoch_1.pth was rewritten'
    resumed = state(part / 'epoch_2.pth')
    for k in final:
        assert torch.equal(final[k], resumed[k]), k
    epoch_1 = state(full / 'epoch_1.pth')
    assert any(not torch.equal(final[k], epoch_1[k]) for k in final
               if final[k].is_floating_point())

    # export: a plain classifier checkpoint MMPretrain loads strictly ...
    dst = tmp_path / 'student.pth'
    run_tool([EXTRACT, str(full / 'epoch_2.pth'), str(dst)])
    from mmengine.config import Config
    from mmengine.runner import load_checkpoint

    from ssld_mm.registry import MODELS
    cfg = Config.fromfile(CONFIG)
    classifier = MODELS.build(cfg.student)
    load_checkpoint(classifier, str(dst), strict=True)
    for k, v in classifier.state_dict().items():
        assert torch.equal(v, final['student.' + k]), k
    exported = torch.load(dst, weights_only=False)
    assert exported['meta']['source'] == str(full / 'epoch_2.pth')
    assert sorted({k.split('.')[0]
                   for k in exported['state_dict']
                   }) == ['backbone',
                          'head']  # GlobalAveragePooling neck has no weights

    # ... and MMDetection loads as a backbone with prefix='backbone.'
    import mmdet.models  # noqa: F401
    from mmdet.registry import MODELS as MMDET_MODELS
    backbone = MMDET_MODELS.build(
        dict(
            type='ResNet',
            depth=18,
            stem_channels=8,
            base_channels=8,
            out_indices=(3, ),
            init_cfg=dict(type='Pretrained', checkpoint=str(dst), prefix='backbone.')))
    backbone.init_weights()
    for k, v in backbone.state_dict().items():
        assert torch.equal(v, final['student.backbone.' + k]), k


def test_extract_student_rejects_plain_checkpoint(tmp_path, tiny_teacher_ckpt):
    with pytest.raises(AssertionError, match='no "student.\\*" keys'):
        run_tool([EXTRACT, tiny_teacher_ckpt, str(tmp_path / 'out.pth')])
    assert not osp.exists(tmp_path / 'out.pth')


def test_distill_bad_teacher_ckpt_stops_before_training(tmp_path, image_folder):
    bad = tmp_path / 'bad.pth'
    torch.save({'state_dict': {'backbone.conv1.weight': torch.zeros(1)}}, bad)
    with pytest.raises(AssertionError, match='does not fit the teacher model'):
        run_tool([
            TRAIN, CONFIG, '--work-dir',
            str(tmp_path / 'w'), *opts(image_folder, str(bad))
        ])
    assert not glob.glob(str(tmp_path / 'w' / '*.pth'))


def test_distill_ddp_two_cpu_processes(tmp_path, image_folder, tiny_teacher_ckpt):
    work = tmp_path / 'ddp'
    config, ranks, env = rank_recorder_config(tmp_path, CONFIG)
    proc = run_tool([
        'bash',
        osp.join(REPO, 'tools', 'dist_train.sh'), config, '2', '--work-dir',
        str(work), '--verbose',
        *opts(image_folder, tiny_teacher_ckpt, 'train_cfg.max_epochs=1')
    ],
                    env={
                        'PORT': str(free_port()),
                        **env
                    })
    out = proc.stdout + proc.stderr
    assert 'Distributed training: True' in out  # --verbose: env on the console
    # 18 images, 9 per rank, batch 4 with drop_last: 2 iterations per rank
    assert_each_rank_trained_its_share(
        out, ranks, world_size=2, iters_per_rank=2, batch_size=4)
    assert 'find_unused_parameters' not in out.lower() or 'unused' not in out
    assert osp.isfile(work / 'epoch_1.pth')
    assert all(k.startswith('student.') for k in state(work / 'epoch_1.pth'))


USER_MODULE = textwrap.dedent('''
    """A user's own backbone, registered with one decorator."""
    from mmengine.model import BaseModule
    from torch import nn

    from ssld_mm.registry import MODELS


    @MODELS.register_module()
    class MyTinyNet(BaseModule):
        def __init__(self, channels=12, init_cfg=None):
            super().__init__(init_cfg)
            self.body = nn.Sequential(
                nn.Conv2d(3, channels, 3, 2, 1), nn.BatchNorm2d(channels),
                nn.ReLU(), nn.Conv2d(channels, channels, 3, 2, 1))

        def forward(self, x):
            return (self.body(x), )
''')


def test_user_registered_student_via_custom_imports(tmp_path, image_folder,
                                                    tiny_teacher_ckpt):
    (tmp_path / 'my_student.py').write_text(USER_MODULE)
    cfg = tmp_path / 'user_distill.py'
    cfg.write_text(
        textwrap.dedent(f'''
        _base_ = [{CONFIG!r}]
        custom_imports = dict(imports=['ssld_mm', 'my_student'],
                              allow_failed_imports=False)
        model = dict(student=dict(
            backbone=dict(_delete_=True, type='MyTinyNet', channels=12),
            head=dict(in_channels=12)))
    '''))
    work = tmp_path / 'user'
    run_tool([
        TRAIN,
        str(cfg), '--work-dir',
        str(work), *opts(image_folder, tiny_teacher_ckpt, 'train_cfg.max_epochs=1')
    ],
             env={'PYTHONPATH': f'{REPO}:{tmp_path}'})
    keys = state(work / 'epoch_1.pth')
    assert 'student.backbone.body.0.weight' in keys
