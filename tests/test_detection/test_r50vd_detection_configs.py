"""Every detection config builds; the R50_vd ones carry PaddleDetection's
settings and per-stage learning rates."""
import functools
import glob
import os.path as osp

import pytest
from conftest import REPO
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope

DET = osp.join(REPO, 'configs', 'detection')
ALL_CONFIGS = sorted(osp.basename(p) for p in glob.glob(osp.join(DET, '*.py')))
FASTER_1X = 'faster-rcnn_r50vd-ssld_fpn_1x_coco.py'
FASTER_2X = 'faster-rcnn_r50vd-ssld_fpn_2x_coco.py'
CASCADE_1X = 'cascade-rcnn_r50vd-ssld_fpn_1x_coco.py'
CASCADE_2X = 'cascade-rcnn_r50vd-ssld_fpn_2x_coco.py'
PSSDET = 'faster-rcnn_r50vd-ssld-dcnv2_fpn_pssdet-3x_coco.py'
ABL_SSLD = 'faster-rcnn_r50vd-ssld-lrmult_fpn_640_coco.py'
ABL_IN1K_MULT = 'faster-rcnn_r50vd-in1k-lrmult_fpn_640_coco.py'
ABL_IN1K = 'faster-rcnn_r50vd-in1k_fpn_640_coco.py'
SSLD_CKPT = 'checkpoints/resnet50_vd_ssld_v2.pth'
IN1K_CKPT = 'checkpoints/resnet50_vd_in1k.pth'
PADDLE_MULT = [0.05, 0.05, 0.05, 0.1, 0.15]
SEED_MULT = [0.05, 0.05, 0.1, 0.1, 0.15]
# config: (base lr, lr_mult_list, checkpoint, PaddleDetection name, box AP)
R50VD = {
    FASTER_1X:
    (0.01, PADDLE_MULT, SSLD_CKPT, 'faster_rcnn_r50_vd_fpn_ssld_1x_coco', '41.4'),
    FASTER_2X:
    (0.01, PADDLE_MULT, SSLD_CKPT, 'faster_rcnn_r50_vd_fpn_ssld_2x_coco', '42.3'),
    CASCADE_1X:
    (0.01, PADDLE_MULT, SSLD_CKPT, 'cascade_rcnn_r50_vd_fpn_ssld_1x_coco', '44.4'),
    CASCADE_2X:
    (0.01, PADDLE_MULT, SSLD_CKPT, 'cascade_rcnn_r50_vd_fpn_ssld_2x_coco', '45.0'),
    PSSDET: (0.02, PADDLE_MULT, SSLD_CKPT, 'faster_rcnn_enhance_3x_coco', '41.5'),
    ABL_SSLD: (0.01, SEED_MULT, SSLD_CKPT, '640', '36.3'),
    ABL_IN1K_MULT: (0.01, SEED_MULT, IN1K_CKPT, '640', '34.3'),
    ABL_IN1K: (0.01, [1.0] * 5, IN1K_CKPT, '640', '34.8'),
}


def load(name):
    return Config.fromfile(osp.join(DET, name))


def header(name):
    """The leading comment block of a config file."""
    lines = []
    with open(osp.join(DET, name)) as f:
        for line in f:
            if not line.startswith('#'):
                break
            lines.append(line)
    return ''.join(lines)


@functools.lru_cache(maxsize=None)
def built(name):
    """(model, optim wrapper, layer-wise lr table) of a config."""
    from mmdet.registry import MODELS

    import ssld_mm.engine  # noqa: F401
    import ssld_mm.models  # noqa: F401
    from ssld_mm.engine.optimizers import layerwise_lr_optim_wrapper_constructor as ctor
    cfg = load(name)
    cfg.model.backbone.init_cfg = None
    logged = []
    original = ctor.print_log
    ctor.print_log = lambda msg, *a, **k: logged.append(msg)
    try:
        with DefaultScope.overwrite_default_scope('mmdet'):
            model = MODELS.build(cfg.model)
            wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    finally:
        ctor.print_log = original
    table = [m for m in logged if m.startswith('Layer-wise lr')]
    return model, wrapper, table[0] if table else ''


def test_all_issue_configs_exist():
    assert set(R50VD) | {
        'cascade-rcnn_mbv3-large-ssld_fpn_320_coco.py',
        'cascade-rcnn_mbv3-large-ssld_fpn_640_coco.py'
    } <= set(ALL_CONFIGS)


@pytest.mark.parametrize('name', ALL_CONFIGS)
def test_config_builds_model_and_optimizer(name):
    cfg = load(name)
    head = header(name)
    assert 'PaddleDetection' in head or 'seed' in head, name
    assert 'AP' in head, name
    assert cfg.default_scope == 'mmdet'
    assert cfg.custom_imports == dict(imports=['ssld_mm'], allow_failed_imports=False)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert cfg[loader].dataset.data_root == 'data/coco/', (name, loader)
    assert cfg.val_evaluator.type == 'CocoMetric'
    assert cfg.val_evaluator.ann_file.startswith('data/coco/annotations/')
    assert cfg.optim_wrapper.constructor.endswith('LayerwiseLROptimWrapperConstructor')
    model, wrapper, table = built(name)
    assert type(model).__name__ in ('FasterRCNN', 'CascadeRCNN')
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    ids = {id(p): n for n, p in model.named_parameters()}
    in_groups = [
        ids[id(p)] for g in wrapper.optimizer.param_groups for p in g['params']
    ]
    assert sorted(in_groups) == sorted(trainable)  # frozen: in no group
    assert 'lr_mult_list[4]' in table and 'outside backbone' in table


def stage_of(name):
    """0..4 for stem/layer1..layer4 (mmdet ResNetV1d names)."""
    top = name.split('.')[1]
    return 0 if top == 'stem' else int(top[len('layer'):])


@pytest.mark.parametrize('name', sorted(R50VD))
def test_r50vd_lr_per_group(name):
    base_lr, mults, checkpoint, paddle, ap = R50VD[name]
    cfg = load(name)
    assert cfg.model.backbone.init_cfg == dict(type='Pretrained', checkpoint=checkpoint)
    assert cfg.optim_wrapper.paramwise_cfg.lr_mult_list == mults
    assert cfg.optim_wrapper.optimizer == dict(
        type='SGD', lr=base_lr, momentum=0.9, weight_decay=0.0001)
    assert paddle in header(name) and ap in header(name)
    model, wrapper, table = built(name)
    names = {id(p): n for n, p in model.named_parameters()}
    lrs = {}
    for group in wrapper.optimizer.param_groups:
        assert group['weight_decay'] == 0.0001
        for p in group['params']:
            lrs[names[id(p)]] = group['lr']
    # Stem, layer1 and every BN of the backbone are frozen: in no group.
    for n, p in model.backbone.named_parameters():
        frozen = n.startswith(('stem.', 'layer1.')) or '.bn' in n \
            or n.startswith('layer') and '.downsample.2.' in n
        assert (f'backbone.{n}' not in lrs) == frozen, n
        assert p.requires_grad != frozen, n
    offsets = 0
    for n, lr in lrs.items():
        if n.startswith('backbone.') and '.conv_offset.' not in n:
            assert lr == pytest.approx(base_lr * mults[stage_of(n)]), n
        else:  # neck, RPN, RoI heads, DCN offsets
            assert n.startswith(('neck.', 'rpn_head.', 'roi_head.')) or \
                '.conv_offset.' in n, n
            assert lr == pytest.approx(base_lr), n
            offsets += '.conv_offset.' in n
    # hand-computed spot checks
    assert lrs['backbone.layer2.0.conv1.weight'] == pytest.approx(base_lr * mults[2])
    assert lrs['backbone.layer4.2.conv3.weight'] == pytest.approx(base_lr * mults[4])
    assert lrs['roi_head.' + ('bbox_head.2.fc_cls.bias' if 'cascade' in
                              name else 'bbox_head.fc_cls.bias')] == base_lr
    assert offsets == (26 if name == PSSDET else 0)
    assert ('backbone DCN offsets' in table) == (name == PSSDET)
    assert 'neck, rpn_head, roi_head' in table


def _steps(cfg):
    warm, steps = cfg.param_scheduler
    assert warm.type == 'LinearLR' and not warm.by_epoch and warm.end == 1000
    assert steps.type == 'MultiStepLR' and steps.by_epoch
    return warm.start_factor, steps.milestones, steps.end


def _scales(pipeline):
    resize = pipeline[2]
    assert resize.interpolation == 'bicubic' and resize.keep_ratio  # interp 2
    return resize.get('scales', resize.get('scale'))


def test_paddle_settings_faster_and_cascade():
    ms_800 = [(1333, s) for s in range(640, 801, 32)]
    for name, epochs, milestones, warm in [(FASTER_1X, 12, [8, 11], 0.1),
                                           (FASTER_2X, 24, [12, 22], 0.1),
                                           (CASCADE_1X, 12, [8, 11], 0.001),
                                           (CASCADE_2X, 24, [12, 22], 0.1)]:
        cfg = load(name)
        assert cfg.train_cfg.max_epochs == epochs
        assert _steps(cfg) == (warm, milestones, epochs), name
        assert cfg.train_dataloader.batch_size == 1  # 8 GPUs x 1 image
        assert cfg.auto_scale_lr.base_batch_size == 8
        assert _scales(cfg.train_dataloader.dataset.pipeline) == ms_800
        assert cfg.test_dataloader.dataset.pipeline[1].scale == (1333, 800)
        backbone = cfg.model.backbone
        assert backbone.type == 'ssld_mm.SSLDResNetV1d' and backbone.depth == 50
        assert backbone.frozen_stages == 1 and backbone.norm_eval
        assert backbone.norm_cfg == dict(type='BN', requires_grad=False)
        assert 'dcn' not in backbone
        assert cfg.model.neck.out_channels == 256
        assert cfg.model.train_cfg.rpn_proposal.max_per_img == 2000
        assert cfg.model.test_cfg.rpn.max_per_img == 1000
        cascade = name.startswith('cascade')
        assert ('clip_grad' in cfg.optim_wrapper) == cascade
        if cascade:
            assert cfg.optim_wrapper.clip_grad.max_norm == 35
            assert cfg.model.roi_head.stage_loss_weights == [1 / 3] * 3
            assert [h.loss_bbox.type
                    for h in cfg.model.roi_head.bbox_head] == ['L1Loss'] * 3
        assert cfg.model.rpn_head.loss_bbox.type == 'L1Loss'


def test_paddle_settings_pssdet():
    cfg = load(PSSDET)
    assert cfg.train_cfg.max_epochs == 36
    assert _steps(cfg) == (0.001, [24, 33], 36)
    assert cfg.train_dataloader.batch_size == 2
    pipeline = cfg.train_dataloader.dataset.pipeline
    assert _scales(pipeline) == [
        (1000, s) for s in (384, 416, 448, 480, 512, 544, 576, 608, 640, 672)
    ]
    assert [t.type for t in pipeline] == [
        'LoadImageFromFile', 'LoadAnnotations', 'RandomChoiceResize', 'RandomFlip',
        'ssld_mm.DetAutoAugmentV1', 'PackDetInputs'
    ]
    assert cfg.test_dataloader.dataset.pipeline[1].scale == (640, 640)
    assert cfg.model.backbone.stage_with_dcn == (False, True, True, True)
    assert cfg.model.backbone.dcn.type == 'DCNv2'
    assert cfg.model.neck.out_channels == cfg.model.rpn_head.feat_channels \
        == cfg.model.roi_head.bbox_head.in_channels == 64
    assert cfg.model.test_cfg.rpn.nms_pre == 500
    assert cfg.model.test_cfg.rpn.max_per_img == 300
    head = cfg.model.roi_head.bbox_head
    assert head.reg_decoded_bbox and head.loss_bbox == dict(
        type='CIoULoss', loss_weight=10.0)
    sampler = cfg.model.train_cfg.rcnn.sampler
    assert sampler.type == 'CombinedSampler' and sampler.num == 512
    assert sampler.pos_sampler.type == 'InstanceBalancedPosSampler'
    assert sampler.neg_sampler.type == 'IoUBalancedNegSampler'
    model, _, _ = built(PSSDET)
    from mmcv.ops import ModulatedDeformConv2d
    assert not isinstance(model.backbone.layer1[0].conv2, ModulatedDeformConv2d)
    assert all(
        isinstance(
            model.backbone.__getattr__(f'layer{i}')[0].conv2, ModulatedDeformConv2d)
        for i in (2, 3, 4))


def test_seed_ablation_640():
    for name in (ABL_SSLD, ABL_IN1K_MULT, ABL_IN1K):
        cfg = load(name)
        assert _scales(cfg.train_dataloader.dataset.pipeline) == (640, 640)
        assert cfg.test_dataloader.dataset.pipeline[1].scale == (640, 640)
        assert cfg.model.neck.out_channels == 64
        assert cfg.model.test_cfg.rpn.max_per_img == 300
