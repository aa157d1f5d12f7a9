"""Short CPU training + tools/test.py COCO mAP of the R50_vd detectors on the
COCO toy set; frozen stages and BN statistics stay bit-identical."""
import os.path as osp
import re

import pytest
import torch
from conftest import REPO, run_tool

CONFIGS = [
    'faster-rcnn_r50vd-ssld_fpn_1x_coco.py', 'cascade-rcnn_r50vd-ssld_fpn_1x_coco.py',
    'faster-rcnn_r50vd-ssld-dcnv2_fpn_pssdet-3x_coco.py'
]


@pytest.fixture(scope='module')
def toy(tmp_path_factory):
    """A COCO toy set and a random classifier checkpoint (mmpretrain layout,
    as extract_student.py writes it) with non-trivial BN statistics."""
    from mmpretrain.models.backbones import ResNetV1d

    from ssld_mm.testing import make_coco_toy
    root = tmp_path_factory.mktemp('det_train')
    info = make_coco_toy(
        str(root / 'coco_toy'),
        num_train=4,
        num_val=2,
        image_size=128,
        object_size=(32, 64),
        seed=0)
    torch.manual_seed(0)
    backbone = ResNetV1d(depth=50)
    state = backbone.state_dict()
    for key, value in state.items():
        if key.endswith('running_mean'):
            value.normal_(0, 0.1)
        elif key.endswith('running_var'):
            value.uniform_(0.5, 2.0)
        elif '.bn' in key and value.is_floating_point():
            value.normal_(0.5, 0.1)  # BN affine
    checkpoint = str(root / 'student.pth')
    torch.save(
        {
            'state_dict': {
                f'backbone.{k}': v
                for k, v in state.items()
            },
            'meta': {}
        }, checkpoint)
    return root, info, checkpoint


def frozen_or_bn(key):
    """Backbone keys that must not change: stem, layer1 and every BN."""
    return key.startswith(('stem.', 'layer1.')) or re.search(
        r'\.bn\d\.|\.downsample\.2\.|^stem\.[147]\.', key) is not None


@pytest.mark.parametrize('name', CONFIGS)
def test_train_then_coco_map(toy, name):
    from ssld_mm.converters import to_mmdet_resnet_state
    from ssld_mm.testing import write_coco_toy_config
    root, info, checkpoint = toy
    work = root / name.split('_')[0]
    config = write_coco_toy_config(
        osp.join(REPO, 'configs', 'detection', name),
        str(work / 'toy.py'),
        info,
        scale=(128, 128),
        batch_size=2,
        max_epochs=1,
        checkpoint=checkpoint,
        score_thr=0.0)
    proc = run_tool(
        ['tools/train.py', config, '--work-dir',
         str(work), '--no-validate'],
        timeout=600)
    log = proc.stdout + proc.stderr
    assert 'Layer-wise lr' in log and 'lr_mult_list[4]' in log
    saved = torch.load(str(work / 'epoch_1.pth'), weights_only=False)
    trained = {
        k[len('backbone.'):]: v
        for k, v in saved['state_dict'].items() if k.startswith('backbone.')
    }
    loaded, layout, _ = to_mmdet_resnet_state(torch.load(checkpoint))
    assert layout == 'mmpretrain'
    checked = 0
    for key, value in loaded.items():
        if frozen_or_bn(key):
            assert torch.equal(trained[key], value), key  # bit-identical
            checked += 1
    assert checked > 200
    # trainable stages did move (lr x0.15 on layer4), the checkpoint is used
    assert not torch.equal(trained['layer4.0.conv1.weight'],
                           loaded['layer4.0.conv1.weight'])
    if 'dcnv2' in name:
        assert trained['layer3.0.conv2.conv_offset.weight'].any()

    proc = run_tool(
        ['tools/test.py', config,
         str(work / 'epoch_1.pth'), '--work-dir',
         str(work)],
        timeout=600)
    found = re.search(r'coco/bbox_mAP: (-?\d+\.\d+)', proc.stdout + proc.stderr)
    assert found, proc.stdout[-2000:]
    assert 0.0 <= float(found.group(1)) <= 1.0
