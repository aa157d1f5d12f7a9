"""Soft-label heads: loss equals the loss modules, targets, errors, distiller."""
import pytest
import torch
import torch.nn.functional as F
from conftest import tiny_classifier_cfg
from mmpretrain.structures import DataSample

from ssld_mm.registry import MODELS
from ssld_mm.utils import register_all_modules

LOSSES = ['SymmetricKLLoss', 'JSDivLoss', 'KLDivLoss', 'SoftCELoss']
C = 5


@pytest.fixture(autouse=True)
def scope():
    register_all_modules(init_default_scope=True)


def head(type_='SoftLabelClsHead', **kwargs):
    cfg = dict(type=type_, num_classes=C, in_channels=8)
    if type_ == 'SoftLabelPlainClsHead':  # no layers: features are logits
        cfg = dict(type=type_)
    if type_ == 'SoftLabelStackedClsHead':
        cfg['mid_channels'] = [16]
    if type_ == 'SoftLabelPaddleMobileNetV3Head':
        cfg['mid_channels'] = 16
    cfg.update(kwargs)
    return MODELS.build(cfg)


def samples(scores=(), labels=(), paths=None):
    out = []
    for i, (score, label) in enumerate(zip(scores, labels)):
        s = DataSample()
        if score is not None:
            s.set_gt_score(score)
        if label is not None:
            s.set_gt_label(label)
        if paths:
            s.set_metainfo(dict(img_path=paths[i], sample_idx=10 + i))
        out.append(s)
    return out


def skl_reference(student, teacher, eps=1e-10):
    """PaddleClas's JSDivLoss written out (symmetric KL, eps inside logs)."""
    ps, pt = student.softmax(1), teacher.softmax(1)
    kl_ts = (pt * torch.log((pt + eps) / (ps + eps))).sum(1)
    kl_st = (ps * torch.log((ps + eps) / (pt + eps))).sum(1)
    return (0.5 * (kl_ts + kl_st)).mean()


@pytest.mark.parametrize('loss', LOSSES)
@pytest.mark.parametrize('temperature', [1.0, 3.0])
def test_head_loss_equals_loss_module_on_teacher_logits(loss, temperature):
    """gt_score = softmax(z): the head gives the module's loss on z itself."""
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(6, C, generator=g) * 2
    teacher = torch.randn(6, C, generator=g) * 3
    cfg = dict(type=loss, temperature=temperature, loss_weight=0.7)
    h = head(distill_loss=cfg)
    batch = samples(teacher.softmax(1), [None] * 6)
    got = h.soft_label_loss(logits, batch)
    module = MODELS.build(cfg)
    expected = module(logits, teacher)
    assert set(got) == {'loss_distill'}
    torch.testing.assert_close(got['loss_distill'], expected, rtol=1e-5, atol=1e-6)
    if loss == 'SymmetricKLLoss' and temperature == 1.0:
        torch.testing.assert_close(got['loss_distill'],
                                   0.7 * skl_reference(logits, teacher))
    if loss == 'KLDivLoss':  # asymmetric: the order (student, target) is kept
        swapped = module(teacher, logits)
        assert abs(swapped - expected) > 1e-3
        assert abs(got['loss_distill'] - swapped) > 1e-3


def test_default_is_symmetric_kl_and_heads_share_the_loss():
    g = torch.Generator().manual_seed(1)
    feats = (torch.randn(4, 8, generator=g), )
    p = torch.randn(4, C, generator=g).softmax(1)
    for type_ in ('SoftLabelClsHead', 'SoftLabelStackedClsHead',
                  'SoftLabelPaddleMobileNetV3Head', 'SoftLabelPlainClsHead'):
        h = head(type_)
        assert type(h.distill_loss).__name__ == 'SymmetricKLLoss'
        h.eval()  # no dropout: forward is deterministic
        x = feats if type_ != 'SoftLabelPlainClsHead' else (feats[0][:, :C], )
        logits = h(x)
        got = h.loss(x, samples(p, [None] * 4))['loss_distill']
        torch.testing.assert_close(got, skl_reference(logits, p.log()))
    plain = head('SoftLabelPlainClsHead')
    assert not list(plain.parameters())
    torch.testing.assert_close(plain((feats[0][:, :C], )), feats[0][:, :C])


def test_paddle_soft_head_keeps_the_paddle_head_keys():
    plain = MODELS.build(
        dict(
            type='PaddleMobileNetV3Head', num_classes=C, in_channels=8,
            mid_channels=16))
    soft = head('SoftLabelPaddleMobileNetV3Head')
    assert set(soft.state_dict()) == set(plain.state_dict())
    soft.load_state_dict(plain.state_dict())


def test_mixed_batch_soft_rows_and_hard_rows():
    g = torch.Generator().manual_seed(2)
    logits = torch.randn(4, C, generator=g, requires_grad=True)
    p = torch.randn(4, C, generator=g).softmax(1)
    # 0: soft only, 1: label only, 2: both, 3: soft only
    batch = samples([p[0], None, p[2], p[3]], [None, 4, 1, None])
    h = head(gt_loss_weight=0.5, distill_loss=dict(type='KLDivLoss'))
    got = h.soft_label_loss(logits, batch)
    rows = [0, 2, 3]
    expected_kl = MODELS.build(dict(type='KLDivLoss'))(logits[rows], p[rows].log())
    kl_by_hand = (p[rows] * (p[rows].log() - logits[rows].log_softmax(1))).sum(1).mean()
    torch.testing.assert_close(got['loss_distill'], expected_kl)
    torch.testing.assert_close(got['loss_distill'], kl_by_hand)
    expected_ce = 0.5 * F.cross_entropy(logits[[1, 2]], torch.tensor([4, 1]))
    torch.testing.assert_close(got['loss_gt'], expected_ce)
    (got['loss_distill'] + got['loss_gt']).backward()
    assert logits.grad[1].abs().sum() > 0  # the label-only row gets gradient


def test_no_soft_row_gives_graph_keeping_zero():
    logits = torch.randn(2, C, requires_grad=True)
    got = head(gt_loss_weight=1.0).soft_label_loss(logits, samples([None, None],
                                                                   [0, 3]))
    assert got['loss_distill'].item() == 0.0
    assert got['loss_distill'].requires_grad
    torch.testing.assert_close(got['loss_gt'],
                               F.cross_entropy(logits, torch.tensor([0, 3])))


def test_sample_with_neither_target_is_named():
    p = torch.full((C, ), 1.0 / C)
    batch = samples([p, None], [None, None], paths=['a.jpg', 'b.jpg'])
    with pytest.raises(
            ValueError,
            match=r"sample 1 .*img_path='b.jpg'.*"
            r'sample_idx=11.*no gt_label'):
        head().loss((torch.randn(2, 8), ), batch)
    # a label alone is no target while the hard-label term is off
    batch = samples([p, None], [None, 2])
    with pytest.raises(ValueError, match='sample 1 .*gt_loss_weight=0'):
        head().soft_label_loss(torch.randn(2, C), batch)
    assert 'loss_gt' in head(gt_loss_weight=1.0).soft_label_loss(
        torch.randn(2, C), batch)


def test_bad_soft_targets_are_errors():
    with pytest.raises(
            ValueError, match=r'gt_score of shape \(3,\), '
            r'expected \(5,\)'):
        head().soft_label_loss(torch.randn(1, C), samples([torch.ones(3) / 3], [None]))
    with pytest.raises(ValueError, match='not a distribution'):
        head().soft_label_loss(torch.randn(1, C), samples([torch.zeros(C)], [None]))
    with pytest.raises(ValueError, match='gt_loss_weight must be'):
        head(gt_loss_weight=-1)
    with pytest.raises(TypeError, match='distill_loss must be'):
        head(distill_loss='SymmetricKLLoss')


def test_zero_probabilities_stay_finite_under_fp16_logits():
    p = torch.tensor([[0.0, 0.0, 0.5, 0.5, 0.0]])
    logits = torch.randn(1, C).half().requires_grad_()
    for loss in LOSSES:
        got = head(distill_loss=dict(type=loss)).soft_label_loss(
            logits, samples(p, [None]))['loss_distill']
        assert torch.isfinite(got), loss
        got.backward()
        assert torch.isfinite(logits.grad).all(), loss


@pytest.mark.parametrize('loss', LOSSES)
def test_distiller_loss_equals_head_loss_on_teacher_distribution(loss):
    """One implementation: the online distiller and the soft-label head give
    the same losses when the head's soft target is the teacher's softmax."""
    torch.manual_seed(0)
    distiller = MODELS.build(
        dict(
            type='SSLDDistiller',
            student=tiny_classifier_cfg(8),
            teacher=tiny_classifier_cfg(16),
            teacher_ckpt=None,
            distill_loss=dict(type=loss),
            gt_loss_weight=0.5,
            data_preprocessor=dict(mean=[127.5] * 3, std=[127.5] * 3)))
    distiller.train()
    images = [torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8) for _ in range(4)]
    data = distiller.data_preprocessor(
        dict(inputs=images, data_samples=samples([None] * 4, [0, None, 2, None])), True)
    losses = distiller(**data, mode='loss')
    with torch.no_grad():
        s = distiller.student(data['inputs'], mode='tensor')
        t = distiller.teacher(data['inputs'], mode='tensor')
    # the numbers the distiller computed before sharing the head logic
    torch.testing.assert_close(losses['loss_distill'], distiller.distill_loss(s, t))
    torch.testing.assert_close(losses['loss_gt'],
                               0.5 * F.cross_entropy(s[[0, 2]], torch.tensor([0, 2])))
    h = head(num_classes=3, distill_loss=dict(type=loss), gt_loss_weight=0.5)
    for sample, prob in zip(data['data_samples'], t.softmax(1)):
        sample.set_gt_score(prob)
    via_head = h.soft_label_loss(s, data['data_samples'])
    for key in ('loss_distill', 'loss_gt'):
        torch.testing.assert_close(via_head[key], losses[key], rtol=1e-5, atol=1e-6)
