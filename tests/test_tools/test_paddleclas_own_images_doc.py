"""docs/paddleclas_weights.md, "Evaluate a converted model on your own images",
run verbatim (issue 16, item 10): the reported top-1 equals the one computed
by hand with the same weights and PaddleClas's preprocessing."""
import os
import os.path as osp
import re
import subprocess
import sys

import numpy as np
import torch
from conftest import REPO
from mmengine.config import Config

DOC = osp.join(REPO, 'docs', 'paddleclas_weights.md')


def doc_blocks():
    with open(DOC, encoding='utf-8') as f:
        text = f.read()
    section = text.split('## Evaluate a converted model on your own images', 1)[1]
    section = section.split('\n## ', 1)[0]
    return re.findall(r'^```(\w*)\n(.*?)^```\n', section, re.M | re.S)


def test_evaluate_converted_model_on_own_images(tmp_path):
    (lang1, config), (lang2, command) = doc_blocks()
    assert (lang1, lang2) == ('python', 'bash')
    (tmp_path / 'my_eval.py').write_text(config)
    # a "converted" checkpoint: the arch with random weights
    from ssld_mm.registry import MODELS
    from ssld_mm.utils import register_all_modules
    register_all_modules()
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'paddleclas', 'resnet50_vd.py'))
    torch.manual_seed(0)
    # the Runner gives the model the config's top-level data_preprocessor
    model = MODELS.build(dict(cfg.model, data_preprocessor=cfg.data_preprocessor))
    model.eval()
    os.makedirs(tmp_path / 'checkpoints')
    torch.save({'state_dict': model.state_dict()},
               tmp_path / 'checkpoints' / 'resnet50_vd_ssld.pth')
    # 6 images; labels: the model's own prediction for 4, another class for 2
    from mmengine.dataset import Compose
    from mmengine.registry import DefaultScope
    from mmpretrain.datasets.transforms import PackInputs  # noqa: F401
    data = tmp_path / 'data' / 'my_images'
    os.makedirs(data / 'val')
    rng = np.random.default_rng(0)
    with DefaultScope.overwrite_default_scope('ssld_mm'):
        pipeline = Compose(cfg.test_pipeline)
    lines = []
    import cv2
    for i in range(6):
        img = rng.integers(0, 256, (40 + 10 * i, 60, 3), dtype=np.uint8)
        cv2.imwrite(str(data / 'val' / f'{i}.png'), img)
        x = pipeline({'img_path': str(data / 'val' / f'{i}.png')})['inputs']
        with torch.no_grad():
            pred = int(
                model(
                    model.data_preprocessor({'inputs': [x]})['inputs'],
                    mode='tensor').argmax())
        lines.append(f'val/{i}.png {pred if i < 4 else (pred + 1) % 1000}')
    (data / 'val_list.txt').write_text('\n'.join(lines) + '\n')
    env = dict(os.environ, SSLD_MM=REPO, OMP_NUM_THREADS='1')
    env.pop('PYTHONPATH', None)
    proc = subprocess.run(
        command.replace('python ', f'{sys.executable} '),
        shell=True,
        executable='/bin/bash',
        cwd=str(tmp_path),
        env=env,
        capture_output=True,
        text=True,
        timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    top1 = float(re.search(r'accuracy/top1: ([\d.]+)', proc.stdout).group(1))
    assert abs(top1 - 100 * 4 / 6) < 1e-3, proc.stdout[-2000:]
