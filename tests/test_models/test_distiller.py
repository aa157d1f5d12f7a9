"""SSLDDistiller: frozen teacher, losses, checkpoints, predictions."""
import copy

import pytest
import torch
import torch.nn.functional as F
from conftest import tiny_classifier_cfg
from mmengine.optim import OptimWrapper
from mmpretrain.structures import DataSample

from ssld_mm.registry import MODELS
from ssld_mm.utils import register_all_modules


def tiny_classifier(width=8, num_classes=3):
    return tiny_classifier_cfg(
        width, num_classes, loss=dict(type='mmpretrain.CrossEntropyLoss'))


PRE = dict(mean=[127.5] * 3, std=[127.5] * 3, to_rgb=True)


@pytest.fixture(autouse=True)
def scope():
    register_all_modules(init_default_scope=True)


@pytest.fixture
def teacher_ckpt(tmp_path):
    torch.manual_seed(1)
    teacher = MODELS.build(tiny_classifier(width=16))
    teacher.init_weights()
    # random BN statistics, so that eval vs train mode matters
    for m in teacher.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 1.5)
    path = tmp_path / 'teacher.pth'
    torch.save({'state_dict': teacher.state_dict(), 'meta': {}}, path)
    return str(path), teacher


def build(teacher_ckpt_path, **kwargs):
    cfg = dict(
        type='SSLDDistiller',
        student=tiny_classifier(),
        teacher=tiny_classifier(width=16),
        teacher_ckpt=teacher_ckpt_path,
        distill_loss=dict(type='JSDivLoss'),
        data_preprocessor=PRE)
    cfg.update(kwargs)
    return MODELS.build(cfg)


def batch(n=4, labels=(0, 1, None, 2), size=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    inputs = [
        torch.randint(0, 256, (3, size, size), generator=g, dtype=torch.uint8)
        for _ in range(n)
    ]
    samples = []
    for lab in labels[:n]:
        s = DataSample()
        if lab is not None:
            s.set_gt_label(lab)
        samples.append(s)
    return dict(inputs=inputs, data_samples=samples)


def test_teacher_is_loaded_frozen_and_hidden(teacher_ckpt):
    path, ref = teacher_ckpt
    model = build(path)
    for k, v in ref.state_dict().items():
        assert torch.equal(model.teacher.state_dict()[k], v), k
    assert not any(p.requires_grad for p in model.teacher.parameters())
    model.train()
    assert model.student.training and not model.teacher.training
    keys = list(model.state_dict())
    assert keys and all(k.startswith('student.') for k in keys), keys[:5]
    assert all(not n.startswith('teacher') for n, _ in model.named_parameters())


def test_missing_teacher_checkpoint_names_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        build(str(tmp_path / 'nope.pth'))


def test_teacher_checkpoint_that_does_not_fit_lists_keys(tmp_path, teacher_ckpt):
    path, ref = teacher_ckpt
    state = dict(ref.state_dict())
    state.pop('head.fc.bias')
    state['extra.weight'] = torch.zeros(1)
    state['head.fc.weight'] = torch.zeros(5, 128)
    bad = tmp_path / 'bad.pth'
    torch.save({'state_dict': state}, bad)
    with pytest.raises(ValueError) as err:
        build(str(bad))
    msg = str(err.value)
    assert str(bad) in msg
    assert 'missing keys (1)' in msg and 'head.fc.bias' in msg
    assert 'unexpected keys (1)' in msg and 'extra.weight' in msg
    assert 'shape mismatches (1)' in msg and '(5, 128) vs model (3, 128)' in msg


def test_teacher_from_config_file_and_from_distiller_checkpoint(tmp_path, teacher_ckpt):
    path, ref = teacher_ckpt
    cfg_file = tmp_path / 'teacher_cfg.py'
    cfg_file.write_text(f'model = {tiny_classifier(width=16)!r}\n')
    # a distiller checkpoint (student.* keys) of a student with the teacher's arch
    distilled = tmp_path / 'distilled.pth'
    torch.save({'state_dict': {
        f'student.{k}': v
        for k, v in ref.state_dict().items()
    }}, distilled)
    model = build(str(distilled), teacher=str(cfg_file))
    x = torch.randn(2, 3, 32, 32)
    ref.eval()
    assert torch.allclose(model.teacher_logits(x), ref(x, mode='tensor'))


def kl_teacher_student(student_logits, teacher_logits):
    """KL(p_t || p_s), batch mean, computed with torch's own F.kl_div."""
    return F.kl_div(
        F.log_softmax(student_logits, 1),
        F.log_softmax(teacher_logits, 1),
        log_target=True,
        reduction='batchmean')


def test_loss_is_label_free_and_matches_kl_div(teacher_ckpt):
    """An asymmetric loss (KLDivLoss): swapping student and teacher inside the
    distiller changes the value, and the gradient must reach the student."""
    path, ref = teacher_ckpt
    model = build(path, distill_loss=dict(type='KLDivLoss'), gt_loss_weight=0)
    model.train()
    student_copy = copy.deepcopy(model.student)  # same weights, same BN state
    data = model.data_preprocessor(batch(labels=(None, ) * 4), True)
    losses = model(**data, mode='loss')
    assert set(losses) == {'loss_distill'}

    s = student_copy(data['inputs'], mode='tensor')
    with torch.no_grad():
        t = ref.eval()(data['inputs'], mode='tensor')
    expected = kl_teacher_student(s, t)
    swapped = kl_teacher_student(t, s.detach())
    # the reference can tell the two directions apart ...
    assert not torch.allclose(expected, swapped, rtol=1e-2)
    # ... and the distiller computes KL(teacher || student)
    assert torch.allclose(
        losses['loss_distill'], expected, rtol=1e-5,
        atol=1e-7), (f"loss {losses['loss_distill'].item()} != KL(teacher || student) "
                     f'{expected.item()} (KL(student || teacher) = {swapped.item()})')

    losses['loss_distill'].backward()
    expected.backward()
    ref_grads = dict(student_copy.named_parameters())
    for name, p in model.student.named_parameters():
        assert p.grad is not None, f'no distillation gradient reached {name}'
        g = ref_grads[name].grad
        atol = 1e-7 * g.abs().max() + 1e-12
        assert torch.allclose(p.grad, g, rtol=1e-4, atol=atol), name
    assert model.student.head.fc.weight.grad.abs().max() > 0

    # labels change nothing when gt_loss_weight=0 (same batch, labels added)
    labeled = model.data_preprocessor(batch(labels=(0, 1, 2, 0)), True)
    with torch.no_grad():
        again = model(**labeled, mode='loss')
    assert set(again) == {'loss_distill'}
    assert torch.allclose(again['loss_distill'], losses['loss_distill'], rtol=1e-5)


def test_gt_loss_only_on_labeled_samples(teacher_ckpt):
    model = build(teacher_ckpt[0], gt_loss_weight=0.5)
    model.train()
    data = model.data_preprocessor(batch(labels=(0, None, 2, None)), True)
    losses = model(**data, mode='loss')
    with torch.no_grad():
        logits = model.student(data['inputs'], mode='tensor')
    expected = 0.5 * F.cross_entropy(logits[[0, 2]], torch.tensor([0, 2]))
    assert torch.allclose(losses['loss_gt'], expected, atol=1e-6)
    # an all-unlabeled batch gives an exact zero that still has a graph
    data = model.data_preprocessor(batch(labels=(None, ) * 4), True)
    losses = model(**data, mode='loss')
    assert losses['loss_gt'].item() == 0.0 and losses['loss_gt'].requires_grad


def test_training_changes_student_only(teacher_ckpt):
    # gt_loss_weight=0: only the distillation loss can move the student
    model = build(teacher_ckpt[0], gt_loss_weight=0)
    teacher_before = copy.deepcopy(model.teacher.state_dict())
    student_before = copy.deepcopy(model.student.state_dict())
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9))
    model.train()
    for step in range(3):
        model.train_step(batch(seed=step), optim)
    for k, v in model.teacher.state_dict().items():
        assert torch.equal(v, teacher_before[k]), k  # params and BN buffers
    changed = [
        k for k, v in model.student.state_dict().items()
        if not torch.equal(v, student_before[k])
    ]
    assert any(k.startswith('backbone.') for k in changed)
    assert any('running_mean' in k for k in changed)
    # every learnable parameter of the student moved (BN buffers alone would
    # also change with a loss that has no gradient)
    params = [n for n, _ in model.student.named_parameters()]
    assert set(params) <= set(changed), sorted(set(params) - set(changed))[:5]
    assert all(p.grad is None for p in model.teacher.parameters())


def test_predict_returns_student_datasamples(teacher_ckpt):
    from mmpretrain.evaluation import Accuracy
    model = build(teacher_ckpt[0])
    model.eval()
    preds = model.val_step(batch())
    assert len(preds) == 4 and all(isinstance(p, DataSample) for p in preds)
    with torch.no_grad():
        data = model.data_preprocessor(batch(), False)
        logits = model.student(data['inputs'], mode='tensor')
    assert [int(p.pred_label) for p in preds] == logits.argmax(1).tolist()
    metric = Accuracy(topk=(1, ))
    labeled = [p for p in preds if 'gt_label' in p]
    metric.process(None, [p.to_dict() for p in labeled])
    expected = 100 * sum(int(p.pred_label) == int(p.gt_label) for p in labeled) / 3
    assert metric.compute_metrics(metric.results)['top1'] == pytest.approx(expected)


def test_teacher_data_preprocessor_renormalises_exactly(teacher_ckpt):
    path, ref = teacher_ckpt
    t_mean, t_std = [120.0, 110.0, 100.0], [60.0, 55.0, 50.0]
    model = build(
        path, teacher_data_preprocessor=dict(mean=t_mean, std=t_std, to_rgb=False))
    raw = batch()
    student_in = model.data_preprocessor(raw, False)['inputs']
    # what the teacher should see: BGR (no flip) normalised with its own stats
    bgr = torch.stack(raw['inputs']).float()
    teacher_in = (bgr - torch.tensor(t_mean).view(
        1, 3, 1, 1)) / torch.tensor(t_std).view(1, 3, 1, 1)
    ref.eval()
    with torch.no_grad():
        expected = ref(teacher_in, mode='tensor')
    assert torch.allclose(model.teacher_logits(student_in), expected, atol=1e-4)


def test_teacher_options_validated_and_autocast_runs(teacher_ckpt):
    with pytest.raises(ValueError, match="teacher_autocast must be None or one of"):
        build(teacher_ckpt[0], teacher_autocast='int8')
    with pytest.raises(ValueError, match='gt_loss_weight must be a number >= 0'):
        build(teacher_ckpt[0], gt_loss_weight=-1)

    def run_with_hooks(model, x):
        """Teacher logits, plus what the teacher's convolutions saw and made."""
        convs = [m for m in model.teacher.modules() if isinstance(m, torch.nn.Conv2d)]
        seen = []
        hooks = [
            c.register_forward_hook(lambda m, args, out: seen.append(
                (args[0], out.dtype))) for c in convs
        ]
        try:
            out = model.teacher_logits(x)
        finally:
            for h in hooks:
                h.remove()
        assert len(seen) == len(convs) > 0
        return out, seen

    x = torch.randn(2, 3, 32, 32)
    ref = copy.deepcopy(teacher_ckpt[1]).eval()
    with torch.no_grad():
        exact = ref(x, mode='tensor')

    # default: float32 activations, NCHW input, exact logits
    out, seen = run_with_hooks(build(teacher_ckpt[0]), x)
    assert all(dtype == torch.float32 for _, dtype in seen)
    assert not seen[0][0].is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(out, exact)

    model = build(
        teacher_ckpt[0], teacher_autocast='bfloat16', teacher_channels_last=True)
    out, seen = run_with_hooks(model, x)
    # every conv of the teacher computed in bf16; its first conv (the network
    # input) got a channels-last tensor
    assert [dtype for _, dtype in seen] == [torch.bfloat16] * len(seen)
    assert seen[0][0].is_contiguous(memory_format=torch.channels_last), \
        'the teacher input is not channels-last'
    assert out.dtype == torch.float32
    # the same numbers as the reference teacher under bf16 autocast, and not
    # the fp32 ones
    with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16):
        bf16 = ref(x, mode='tensor').float()
    assert torch.allclose(out, bf16, rtol=1e-3, atol=1e-6)
    assert not torch.equal(out, exact)


def test_mismatched_class_counts_is_clear_error(tmp_path, monkeypatch):
    teacher = MODELS.build(tiny_classifier(width=16, num_classes=5))
    path = tmp_path / 't5.pth'
    torch.save({'state_dict': teacher.state_dict()}, path)
    # found when the distiller is built (issue 11 section 5) ...
    with pytest.raises(
            ValueError,
            match=r'the teacher predicts 5 classes '
            r'\(model.teacher.head.num_classes\) but the student 3'):
        build(str(path), teacher=tiny_classifier(width=16, num_classes=5))
    # ... from one forward pass when a head has no num_classes ...
    from ssld_mm.models.distillers import class_check
    del teacher.head.num_classes
    assert class_check._num_classes(teacher, 64) == 5
    # ... and, were the build check bypassed, at the first batch
    import ssld_mm.models.distillers.ssld_distiller as distiller_module
    monkeypatch.setattr(distiller_module, 'check_same_classes', lambda s, t: None)
    model = build(str(path), teacher=tiny_classifier(width=16, num_classes=5))
    data = model.data_preprocessor(batch(), True)
    with pytest.raises(
            ValueError,
            match=r'teacher logits \(4, 5\) and student '
            r'logits \(4, 3\) differ'):
        model(**data, mode='loss')


def test_teacher_accuracy_hook_counts_topk(teacher_ckpt):
    from ssld_mm.engine.hooks.teacher_accuracy_hook import TeacherAccuracyHook
    model = build(teacher_ckpt[0])
    model.eval()
    batches = [batch(labels=(0, 1, None, 2), seed=s) for s in range(3)]
    hook = TeacherAccuracyHook(topk=(1, 2))
    acc = hook.evaluate(model, batches)
    correct = {1: 0, 2: 0}
    total = 0
    for b in batches:
        data = model.data_preprocessor(b, False)
        logits = model.teacher_logits(data['inputs'])
        for j, s in enumerate(data['data_samples']):
            if 'gt_label' not in s:
                continue
            total += 1
            order = logits[j].argsort(descending=True).tolist()
            for k in (1, 2):
                correct[k] += int(int(s.gt_label) in order[:k])
    assert total == 9
    assert acc == {k: pytest.approx(100 * correct[k] / total) for k in (1, 2)}
    with pytest.raises(ValueError, match='topk must be positive integers'):
        TeacherAccuracyHook(topk=(0, ))


def test_teacher_runs_before_student(teacher_ckpt):
    """Teacher first (its activations are freed before the student's are kept
    for backward); the loss equals the student-first computation."""
    path, _ = teacher_ckpt
    model = build(path, distill_loss=dict(type='SymmetricKLLoss'))
    model.train()
    order = []
    model.teacher.backbone.register_forward_pre_hook(lambda *_: order.append('teacher'))
    model.student.backbone.register_forward_pre_hook(lambda *_: order.append('student'))
    data = model.data_preprocessor(batch(), True)
    ref_student = copy.deepcopy(model.student)
    loss = model(**data, mode='loss')['loss_distill']
    assert order == ['teacher', 'student']
    # student first, by hand: the same value
    s = ref_student(data['inputs'], mode='tensor')
    expected = model.distill_loss(s, model.teacher_logits(data['inputs']))
    assert torch.equal(loss.detach(), expected.detach())
