"""The 320 MobileNetV3 Cascade R-CNN config trains and tests on CPU through
tools/train.py and tools/test.py (COCO toy set, a few iterations), keeping
the frozen parts of the backbone bit for bit."""
import os.path as osp
import re

import torch
from conftest import REPO, run_tool

CONFIG = osp.join(REPO, 'configs', 'detection',
                  'cascade-rcnn_mbv3-large-ssld_fpn_320_coco.py')
# Never run in the detection mode with feature_maps [2, 3, 4] (frozen there).
UNUSED = ('blocks.12.bottleneck_conv.', 'blocks.12.mid_se.', 'blocks.12.linear_conv.',
          'blocks.13.', 'blocks.14.', 'last_second_conv.')


def _classifier_checkpoint(path):
    """A PaddleMobileNetV3 classifier backbone with non-default BN stats."""
    from ssld_mm.models.backbones import PaddleMobileNetV3
    torch.manual_seed(0)
    backbone = PaddleMobileNetV3('large')
    backbone.init_weights()
    with torch.no_grad():
        for name, buf in backbone.named_buffers():
            if name.endswith('running_mean'):
                buf.normal_(0, 0.01)
            elif name.endswith('running_var'):
                buf.uniform_(0.9, 1.1)
    state = {f'backbone.{k}': v for k, v in backbone.state_dict().items()}
    torch.save({'state_dict': state}, path)
    return {k[len('backbone.'):]: v for k, v in state.items()}


def test_train_and_test_320_config_on_cpu(tmp_path):
    from ssld_mm.testing import make_coco_toy, write_coco_toy_config
    from ssld_mm.utils.checkpoint import load_local_checkpoint
    info = make_coco_toy(
        str(tmp_path / 'coco'),
        num_train=8,
        num_val=4,
        image_size=128,
        object_size=(32, 56))
    ckpt = str(tmp_path / 'mbv3_student.pth')
    loaded = _classifier_checkpoint(ckpt)
    cfg = write_coco_toy_config(
        CONFIG,
        str(tmp_path / 'toy.py'),
        info,
        scale=(128, 128),
        batch_size=2,
        max_epochs=1,
        checkpoint=ckpt)
    work = str(tmp_path / 'work')
    # The recipe is iteration based (InfiniteSampler); the toy run is one
    # epoch of 4 iterations.
    train = run_tool([
        osp.join(REPO, 'tools',
                 'train.py'), cfg, '--work-dir', work, '--no-validate', '--cfg-options',
        'train_dataloader.sampler.type=DefaultSampler', 'log_processor.by_epoch=True'
    ])
    log = train.stdout + train.stderr
    assert 'Epoch(train) [1][4/4]' in log
    assert re.search(r'lr_mult_list\[4\] +\| 0\.75 +\| blocks\.12', log)
    assert 'PaddleMobileNetV3: loaded' in log

    saved = load_local_checkpoint(osp.join(work, 'epoch_1.pth'))['state_dict']
    trained = {
        k[len('backbone.'):]: v
        for k, v in saved.items() if k.startswith('backbone.')
    }
    assert set(trained) == set(loaded)
    frozen = [k for k in loaded if '.bn.' in k or k.startswith(UNUSED)]
    assert len(frozen) == 47 * 5 + 21  # 47 BN layers; 21 unused conv tensors
    for key in frozen:  # frozen BN (affine + statistics), unused tail
        assert torch.equal(trained[key], loaded[key]), key
    for key in ('stem.conv.weight', 'blocks.3.expand_conv.conv.weight',
                'blocks.12.expand_conv.conv.weight'):
        assert not torch.equal(trained[key], loaded[key]), key

    test = run_tool([
        osp.join(REPO, 'tools', 'test.py'), cfg,
        osp.join(work, 'epoch_1.pth'), '--work-dir',
        str(tmp_path / 'test')
    ])
    found = re.search(r'coco/bbox_mAP: (-?\d+\.\d+)', test.stdout + test.stderr)
    assert found, (test.stdout + test.stderr)[-2000:]
    assert 0.0 <= float(found.group(1)) <= 1.0
