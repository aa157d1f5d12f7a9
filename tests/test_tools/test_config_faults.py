"""Broken configs stop tools/train.py before training: one ERROR line at the end
naming the key or list:line, and nothing in the work dir but the log (and
MMEngine's records of the config: vis_data/config.py, <config name>.py)."""
import os
import os.path as osp
import runpy
import sys

import pytest
import torch
from conftest import REPO, TINY_DISTILL_CONFIG
from mmengine.config import Config

TRAIN = osp.join(REPO, 'tools', 'train.py')
DISTILL = TINY_DISTILL_CONFIG


@pytest.fixture
def setup(tmp_path, image_folder):
    from ssld_mm.registry import MODELS
    from ssld_mm.utils import register_all_modules
    register_all_modules()
    teacher = MODELS.build(Config.fromfile(DISTILL).teacher)
    ckpt = str(tmp_path / 'teacher.pth')
    torch.save({'state_dict': teacher.state_dict()}, ckpt)
    lst = tmp_path / 'list.txt'  # line 3 has label 7 with 3 classes
    lst.write_text('class_0/img_0.png 0\nclass_1/img_0.png 1\nclass_2/img_0.png 7\n')
    return dict(ckpt=ckpt, folder=image_folder, list=str(lst))


def _cases(s):
    base = [
        f'model.teacher_ckpt={s["ckpt"]}',
        f'train_dataloader.dataset.data_root={s["folder"]}'
    ]
    return {
        'class count':
        (base + ['model.teacher.head.num_classes=5'],
         'the teacher predicts 5 classes (model.teacher.head.num_classes) '
         'but the student 3'),
        'label out of range': (base + [
            'train_dataloader.dataset.type=ImageListDataset',
            f'train_dataloader.dataset.ann_file={s["list"]}',
            'train_dataloader.dataset.classes=[a,b,c]'
        ], f'{s["list"]}:3: label 7 of \'class_2/img_0.png\' is out of range '
                               'for 3 classes'),
        'label out of range, list without classes':
        (base + [
            'train_dataloader.dataset.type=ImageListDataset',
            f'train_dataloader.dataset.ann_file={s["list"]}'
        ], f"{s['list']}:3: label 7 is out of range for the model's 3 classes "
         '(model.student.head.num_classes)'),
        'missing data_root':
        ([base[0], 'train_dataloader.dataset.data_root=/no/such/folder'],
         "train_dataloader.dataset.data_root: folder '/no/such/folder' does "
         'not exist'),
        'missing teacher checkpoint': (['model.teacher_ckpt=/no/teacher.pth',
                                        base[1]], 'model.teacher_ckpt'),
        'unknown type':
        (base + ['model.distill_loss.type=JSDivLos'],
         'JSDivLos is not in the ssld_mm::model registry nor any other '
         'searched (ssld_mm::model, mmengine::model, mmpretrain::model)'),
    }


def test_broken_configs_fail_before_training(setup, tmp_path, monkeypatch, capfd):
    for name, (options, expected) in _cases(setup).items():
        work = tmp_path / name.replace(' ', '_')
        monkeypatch.setattr(sys, 'argv', [
            TRAIN, DISTILL, '--work-dir',
            str(work), '--no-validate', '--cfg-options', *options
        ])
        with pytest.raises(SystemExit) as e:
            runpy.run_path(TRAIN, run_name='__main__')
        assert e.value.code == 1, name
        err = capfd.readouterr().err.strip().splitlines()
        assert err[-1].startswith('ERROR: train.py: '), (name, err[-5:])
        assert expected in err[-1], (name, err[-1])
        # one line, no deep traceback (it is saved to the file the line names)
        assert not any('Traceback (most recent call last)' in x for x in err), name
        assert err[-2].startswith('(full traceback: '), (name, err[-2])
        written = [
            osp.relpath(osp.join(d, f), work) for d, _, files in os.walk(work)
            for f in files
        ]
        # the log and MMEngine's records of the config it was given, no more
        assert all(
            f.endswith('.log') or f.endswith('vis_data/config.py')
            or f == 'tiny_distill.py' for f in written), (name, written)
        assert not any(f.endswith('.pth') for f in written)
