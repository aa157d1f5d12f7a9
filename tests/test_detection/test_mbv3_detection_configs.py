"""The MobileNetV3 Cascade R-CNN configs build; their optimizer groups carry
PaddleDetection's per-parameter lr and decay."""
import os.path as osp

import pytest
import torch
from conftest import REPO
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope

CONFIGS = {
    320: 'cascade-rcnn_mbv3-large-ssld_fpn_320_coco.py',
    640: 'cascade-rcnn_mbv3-large-ssld_fpn_640_coco.py',
}
LR_MULTS = {320: [0.25, 0.25, 0.5, 0.5, 0.75], 640: [1.0] * 5}


def load_cfg(res):
    return Config.fromfile(osp.join(REPO, 'configs', 'detection', CONFIGS[res]))


def build(cfg):
    from mmdet.registry import MODELS

    import ssld_mm.engine  # noqa: F401
    import ssld_mm.models  # noqa: F401
    cfg.model.backbone.init_cfg = None
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(cfg.model)
        wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    return model, wrapper


def expected_stage(name):
    """PaddleDetection's MobileNetV3 rule: stem -> 0, block i -> i // 3."""
    if name.startswith('stem.'):
        return 0
    return int(name.split('.')[1]) // 3


@pytest.mark.parametrize('res', [320, 640])
def test_config_settings_and_optimizer_groups(res):
    cfg = load_cfg(res)
    assert cfg.default_scope == 'mmdet'
    assert 'ssld_mm' in cfg.custom_imports['imports']
    assert cfg.optim_wrapper.paramwise_cfg.lr_mult_list == LR_MULTS[res]
    assert cfg.train_cfg.max_iters == 500000
    model, wrapper = build(cfg)
    assert model.neck.in_channels == model.backbone.feature_channels == [72, 240, 672]
    anchors = model.rpn_head.prior_generator
    # anchor_start_size 16 (320) / 24 (640) at P2, doubling per level
    base = {320: 16, 640: 24}[res]
    assert [float(b[2] - b[0]) for b in (a[1] for a in anchors.base_anchors)
            ] == [base * 2**i for i in range(5)]
    groups = {}
    names = {id(p): n for n, p in model.named_parameters()}
    for group in wrapper.optimizer.param_groups:
        for p in group['params']:
            groups[names[id(p)]] = (group['lr'], group['weight_decay'])
    base_lr, wd = 0.02, 4e-5
    # Frozen parameters (all BN, the unused tail after blocks.12.expand_conv)
    # are in no group; every trainable one is.
    assert set(groups) == {n for n, p in model.named_parameters() if p.requires_grad}
    assert not any('.bn.' in n for n in groups)
    assert 'backbone.blocks.13.expand_conv.conv.weight' not in groups
    for name, (lr, decay) in groups.items():
        if name.startswith('backbone.'):
            stage = expected_stage(name[len('backbone.'):])
            assert lr == pytest.approx(base_lr * LR_MULTS[res][stage]), name
            assert decay == pytest.approx(1e-5), name  # conv_decay
            continue
        stage_mult = 1.0
        if name.startswith('roi_head.bbox_head.'):
            stage_mult = 2.0**int(name.split('.')[2])  # 1 / loss weight
        if name.endswith('.bias'):
            assert lr == pytest.approx(base_lr * stage_mult * 2), name
            assert decay == 0.0, name
        else:
            assert lr == pytest.approx(base_lr * stage_mult), name
            assert decay == pytest.approx(wd), name
    # spot checks against hand-computed values
    assert groups['backbone.blocks.12.expand_conv.conv.weight'][0] == \
        pytest.approx(0.02 * LR_MULTS[res][4])
    assert groups['roi_head.bbox_head.2.fc_cls.bias'] == (pytest.approx(0.16), 0.0)


def test_pipelines_differ_only_in_scales():
    c320, c640 = load_cfg(320), load_cfg(640)
    p320 = c320.train_dataloader.dataset.pipeline
    p640 = c640.train_dataloader.dataset.pipeline
    assert [t['type'] for t in p320] == [t['type'] for t in p640] == [
        'LoadImageFromFile', 'LoadAnnotations', 'RandomFlip',
        'ssld_mm.DetAutoAugmentV1', 'RandomChoiceResize', 'PackDetInputs'
    ]
    assert p320[4]['scales'] == [(512, s) for s in range(224, 385, 32)]
    assert p640[4]['scales'] == [(1000, s) for s in range(416, 673, 32)]
    assert c320.test_dataloader.dataset.pipeline[1]['scale'] == (320, 320)
    assert c640.test_dataloader.dataset.pipeline[1]['scale'] == (640, 640)
    assert c320.model.roi_head.bbox_roi_extractor.roi_layer == dict(
        type='RoIAlign', output_size=7, sampling_ratio=2, aligned=False)
    assert c320.model.roi_head.bbox_roi_extractor.featmap_strides == [4, 8, 16]
    assert c640.model.roi_head.bbox_roi_extractor.featmap_strides == [4, 8, 16, 32]


def test_detector_forward_loss_on_cpu():
    cfg = load_cfg(320)
    model, _ = build(cfg)
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData
    torch.manual_seed(0)
    sample = DetDataSample(
        metainfo=dict(
            img_shape=(96, 128),
            pad_shape=(96, 128),
            batch_input_shape=(96, 128),
            scale_factor=(1.0, 1.0)))
    sample.gt_instances = InstanceData(
        bboxes=torch.tensor([[10., 20., 60., 80.]]), labels=torch.tensor([3]))
    model.train()
    losses = model.loss(torch.randn(1, 3, 96, 128), [sample])
    assert {'loss_rpn_cls', 's0.loss_cls', 's2.loss_bbox'} <= set(losses)
    total = sum(v.sum() if isinstance(v, torch.Tensor) else sum(v)
                for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(total)
