"""Distillation losses against hand-computed numpy references."""
import math

import numpy as np
import pytest
import torch

from ssld_mm.models.losses import JSDivLoss, KLDivLoss, SoftCELoss, SymmetricKLLoss
from ssld_mm.registry import MODELS

ALL_LOSSES = [JSDivLoss, SymmetricKLLoss, KLDivLoss, SoftCELoss]
DIVERGENCES = [JSDivLoss, SymmetricKLLoss, KLDivLoss]  # zero for equal inputs

STUDENT = np.array([[1.0, 2.0, 0.5, -1.0], [0.0, 0.0, 3.0, 1.0], [-2.0, 4.0, 1.0, 0.3]])
TEACHER = np.array([[2.0, 0.5, 0.0, -0.5], [1.0, -1.0, 2.5, 2.0], [0.5, 3.0, -1.0,
                                                                   1.0]])


def np_softmax(x, t=1.0):
    z = x / t
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def np_kl(p, q):
    return (p * np.log(p / q)).sum(axis=1)


def np_js(p, q):
    m = (p + q) / 2
    return 0.5 * np_kl(p, m) + 0.5 * np_kl(q, m)


def paddle_symmetric_kl(student, teacher, eps=1e-10):
    """PaddleClas JSDivLoss (release/2.1) / DMLLoss, in numpy.

    ``_kldiv(x, target) = target * log((target + eps) / (x + eps)) * C`` and
    ``mean(( _kldiv(s, t) + _kldiv(t, s) ) / 2)`` over the [N, C] elements,
    i.e. the mean over the batch of the class sum.
    """
    p_s, p_t = np_softmax(student), np_softmax(teacher)
    c = student.shape[1]
    kl_ts = p_t * np.log((p_t + eps) / (p_s + eps)) * c
    kl_st = p_s * np.log((p_s + eps) / (p_t + eps)) * c
    return np.mean((kl_ts + kl_st) / 2)


def t32(x, requires_grad=False):
    return torch.tensor(x, dtype=torch.float32, requires_grad=requires_grad)


# ---------------------------------------------------------------- values


def test_js_div_matches_numpy():
    p_s, p_t = np_softmax(STUDENT), np_softmax(TEACHER)
    expected = np_js(p_s, p_t).mean()
    got = JSDivLoss()(t32(STUDENT), t32(TEACHER))
    assert got.dtype == torch.float32 and got.dim() == 0
    assert got.item() == pytest.approx(expected, rel=1e-5)


def test_js_div_temperature_and_weight():
    p_s, p_t = np_softmax(STUDENT, 2.0), np_softmax(TEACHER, 2.0)
    expected = 0.5 * 4.0 * np_js(p_s, p_t).mean()
    got = JSDivLoss(loss_weight=0.5, temperature=2.0)(t32(STUDENT), t32(TEACHER))
    assert got.item() == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize('eps', [1e-10, 1e-12])
def test_symmetric_kl_equals_paddleclas_formula(eps):
    expected = paddle_symmetric_kl(STUDENT, TEACHER, eps)
    got = SymmetricKLLoss(eps=eps)(t32(STUDENT), t32(TEACHER))
    assert got.item() == pytest.approx(expected, rel=1e-5)
    # and it is the symmetric KL divergence, not the JS divergence
    p_s, p_t = np_softmax(STUDENT), np_softmax(TEACHER)
    sym = (0.5 * (np_kl(p_t, p_s) + np_kl(p_s, p_t))).mean()
    assert got.item() == pytest.approx(sym, rel=1e-5)
    assert got.item() > JSDivLoss()(t32(STUDENT), t32(TEACHER)).item() * 3


def test_symmetric_kl_eps_matters_for_tiny_probabilities():
    # Probabilities down to e^-60: here eps=1e-10 changes the value, and we
    # must still agree with PaddleClas's formula (eps inside the logs).
    student = np.array([[0.0, -60.0, -30.0, 5.0]])
    teacher = np.array([[-60.0, 0.0, 2.0, -25.0]])
    with_eps = paddle_symmetric_kl(student, teacher, 1e-10)
    without = paddle_symmetric_kl(student, teacher, 0.0)
    assert abs(with_eps - without) > 1.0
    got = SymmetricKLLoss(eps=1e-10)(t32(student), t32(teacher)).item()
    assert got == pytest.approx(with_eps, rel=1e-5)
    got0 = SymmetricKLLoss(eps=0.0)(t32(student), t32(teacher)).item()
    assert got0 == pytest.approx(without, rel=1e-5)


def test_kl_div_is_hinton_kd():
    t = 3.0
    p_s, p_t = np_softmax(STUDENT, t), np_softmax(TEACHER, t)
    expected = t * t * np_kl(p_t, p_s).mean()
    got = KLDivLoss(temperature=t)(t32(STUDENT), t32(TEACHER))
    assert got.item() == pytest.approx(expected, rel=1e-5)
    # same as PyTorch's batchmean KL times T^2
    ref = torch.nn.functional.kl_div(
        torch.log_softmax(t32(STUDENT) / t, 1),
        torch.softmax(t32(TEACHER) / t, 1),
        reduction='batchmean') * t * t
    assert got.item() == pytest.approx(ref.item(), rel=1e-5)


def test_kl_div_gradient_by_hand():
    # d/ds [T^2 * mean_b KL(p_t || p_s)] = T * (p_s - p_t) / N
    t = 2.0
    s = t32(STUDENT, requires_grad=True)
    KLDivLoss(temperature=t)(s, t32(TEACHER)).backward()
    expected = t * (np_softmax(STUDENT, t) - np_softmax(TEACHER, t)) / 3
    np.testing.assert_allclose(s.grad.numpy(), expected, rtol=1e-5, atol=1e-7)


def test_soft_ce_matches_numpy():
    p_s, p_t = np_softmax(STUDENT), np_softmax(TEACHER)
    expected = -(p_t * np.log(p_s)).sum(axis=1).mean()
    got = SoftCELoss(loss_weight=2.0)(t32(STUDENT), t32(TEACHER))
    assert got.item() == pytest.approx(2.0 * expected, rel=1e-5)
    # soft CE = KL + teacher entropy: equal gradients, different values
    entropy = -(p_t * np.log(p_t)).sum(axis=1).mean()
    kl = KLDivLoss()(t32(STUDENT), t32(TEACHER)).item()
    assert expected == pytest.approx(kl + entropy, rel=1e-5)
    s1, s2 = t32(STUDENT, True), t32(STUDENT, True)
    SoftCELoss()(s1, t32(TEACHER)).backward()
    KLDivLoss()(s2, t32(TEACHER)).backward()
    torch.testing.assert_close(s1.grad, s2.grad)


# ------------------------------------------------------------ properties


@pytest.mark.parametrize('loss_cls', DIVERGENCES)
def test_zero_for_equal_inputs(loss_cls):
    x = t32(STUDENT)
    assert abs(loss_cls()(x, x.clone()).item()) < 1e-6
    assert abs(loss_cls(temperature=4.0)(x, x.clone()).item()) < 1e-5


@pytest.mark.parametrize('loss_cls', [JSDivLoss, SymmetricKLLoss])
def test_symmetric(loss_cls):
    a, b = t32(STUDENT), t32(TEACHER)
    assert loss_cls()(a, b).item() == pytest.approx(loss_cls()(b, a).item(), rel=1e-6)


def test_kl_is_not_symmetric():
    a, b = t32(STUDENT), t32(TEACHER)
    assert abs(KLDivLoss()(a, b).item() - KLDivLoss()(b, a).item()) > 1e-3


def test_js_div_bounded_by_ln2():
    rng = np.random.default_rng(0)
    s = torch.tensor(rng.normal(0, 20, (64, 10)), dtype=torch.float32)
    t = torch.tensor(rng.normal(0, 20, (64, 10)), dtype=torch.float32)
    loss = JSDivLoss()
    assert 0 < loss(s, t).item() <= math.log(2)
    # disjoint one-hot-like distributions reach ln 2
    s = t32([[1e4, -1e4, 0.0]])
    t = t32([[-1e4, 1e4, 0.0]])
    assert loss(s, t).item() == pytest.approx(math.log(2), rel=1e-6)


# ------------------------------------------------------------- stability


@pytest.mark.parametrize('loss_cls', ALL_LOSSES)
def test_huge_logits_finite_values_and_gradients(loss_cls):
    s = t32([[1e4, -1e4, 0.0], [5e3, 5e3, -1e4]], requires_grad=True)
    t = t32([[-1e4, 1e4, 0.0], [-1e4, 1e4, 1e4]], requires_grad=True)
    loss = loss_cls()(s, t)
    assert torch.isfinite(loss)
    loss.backward()
    assert torch.isfinite(s.grad).all()
    assert t.grad is None  # the teacher is detached


def test_huge_logits_hand_values():
    s = t32([[1e4, -1e4, 0.0]])
    t = t32([[-1e4, 1e4, 0.0]])
    # p_s = e1, p_t = e2: KL(p_t || p_s) = log p_t(2) - log p_s(2) = 2e4
    assert KLDivLoss()(s, t).item() == pytest.approx(2e4, rel=1e-6)
    # PaddleClas's formula: 0.5 * 2 * log((1 + eps) / eps) = -log(eps)
    assert SymmetricKLLoss()(s, t).item() == pytest.approx(-math.log(1e-10), rel=1e-5)


@pytest.mark.parametrize('loss_cls', ALL_LOSSES)
@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_low_precision_inputs(loss_cls, dtype):
    s = torch.tensor(STUDENT * 3000, dtype=dtype, requires_grad=True)
    t = torch.tensor(TEACHER * 3000, dtype=dtype)
    loss = loss_cls()(s, t)
    assert loss.dtype == torch.float32 and torch.isfinite(loss)
    loss.backward()
    assert s.grad.dtype == dtype and torch.isfinite(s.grad.float()).all()
    ref = loss_cls()(s.detach().float(), t.float())
    assert loss.item() == pytest.approx(ref.item(), rel=1e-6)


@pytest.mark.parametrize('loss_cls', ALL_LOSSES)
def test_under_bf16_autocast(loss_cls):
    torch.manual_seed(0)
    head = torch.nn.Linear(8, 5)
    x = torch.randn(6, 8) * 50
    teacher = torch.randn(6, 5) * 1e3
    with torch.autocast(device_type='cpu', dtype=torch.bfloat16):
        logits = head(x)
        assert logits.dtype == torch.bfloat16
        loss = loss_cls()(logits, teacher)
    assert loss.dtype == torch.float32 and torch.isfinite(loss)
    loss.backward()
    assert torch.isfinite(head.weight.grad).all()
    ref = loss_cls()(logits.detach().float(), teacher)
    assert loss.item() == pytest.approx(ref.item(), rel=1e-6)


@pytest.mark.parametrize('loss_cls', ALL_LOSSES)
def test_empty_batch_is_zero(loss_cls):
    s = torch.zeros(0, 4, requires_grad=True)
    loss = loss_cls()(s, torch.zeros(0, 4))
    assert loss.item() == 0.0
    loss.backward()
    assert s.grad.shape == (0, 4)


# ------------------------------------------------------------ validation


@pytest.mark.parametrize('loss_cls', ALL_LOSSES)
def test_bad_arguments(loss_cls):
    with pytest.raises(ValueError, match=r'loss_weight must be .*>= 0.*-1'):
        loss_cls(loss_weight=-1)
    with pytest.raises(ValueError, match='loss_weight'):
        loss_cls(loss_weight='1')
    with pytest.raises(ValueError, match='loss_weight'):
        loss_cls(loss_weight=True)
    with pytest.raises(ValueError, match=r'temperature must be .*> 0.*got 0'):
        loss_cls(temperature=0)
    with pytest.raises(ValueError, match='temperature'):
        loss_cls(temperature=float('inf'))
    loss = loss_cls(loss_weight=0)
    assert loss(t32(STUDENT), t32(TEACHER)).item() == 0.0


def test_bad_eps():
    with pytest.raises(ValueError, match=r'eps must be .*>= 0.*-1e-10'):
        SymmetricKLLoss(eps=-1e-10)


@pytest.mark.parametrize('loss_cls', ALL_LOSSES)
def test_bad_inputs(loss_cls):
    loss = loss_cls()
    with pytest.raises(ValueError, match=r'same shape.*\(3, 4\).*\(3, 5\)'):
        loss(torch.zeros(3, 4), torch.zeros(3, 5))
    with pytest.raises(ValueError, match=r'student_logits must be 2-D'):
        loss(torch.zeros(4), torch.zeros(4))
    with pytest.raises(ValueError, match=r'teacher_logits must be 2-D'):
        loss(torch.zeros(2, 4), torch.zeros(2, 4, 1))
    with pytest.raises(TypeError, match=r'floating point.*int64'):
        loss(torch.zeros(2, 4), torch.zeros(2, 4, dtype=torch.long))
    with pytest.raises(TypeError, match='torch.Tensor'):
        loss(np.zeros((2, 4)), torch.zeros(2, 4))


# -------------------------------------------------------------- registry


@pytest.mark.parametrize('name',
                         ['JSDivLoss', 'SymmetricKLLoss', 'KLDivLoss', 'SoftCELoss'])
def test_build_from_config(name):
    loss = MODELS.build(dict(type=name, loss_weight=0.5, temperature=2.0))
    assert type(loss).__name__ == name
    assert loss.loss_weight == 0.5 and loss.temperature == 2.0
    scoped = MODELS.build(dict(type=f'ssld_mm.{name}'))
    assert type(scoped) is type(loss)
