"""TeacherAccuracyHook with fewer classes than its top-k (issue 16, item 3)."""
import torch
from mmengine.logging import MMLogger
from mmpretrain.structures import DataSample
from torch import nn

from ssld_mm.engine.hooks.teacher_accuracy_hook import TeacherAccuracyHook

# fixed teacher logits of 4 labeled samples over 3 classes, and their labels
LOGITS = torch.tensor([
    [3., 2., 1.],  # label 0: top-1
    [3., 2., 1.],  # label 1: top-2
    [1., 2., 3.],  # label 0: top-3 only
    [0., 5., 1.]
])  # label 1: top-1
LABELS = [0, 1, 0, 1]


class FakeDistiller(nn.Module):
    """What the hook uses of SSLDDistiller: data_preprocessor, teacher_logits."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(1))

    def data_preprocessor(self, data, training):
        return data

    def teacher_logits(self, inputs):
        return LOGITS[inputs.long()]


def batches():
    # two batches; the second has an unlabeled sample that must be ignored
    samples = [DataSample().set_gt_label(y) for y in LABELS]
    return [
        dict(inputs=torch.tensor([0, 1]), data_samples=samples[:2]),
        dict(inputs=torch.tensor([2, 3, 0]), data_samples=samples[2:] + [DataSample()])
    ]


def test_default_topk_with_three_classes_is_clipped(capsys):
    MMLogger.get_instance('test_teacher_acc')  # a current logger for the warning
    hook = TeacherAccuracyHook()  # topk=(1, 5), the default
    acc = hook.evaluate(FakeDistiller(), batches())
    # top-1: samples 0 and 3 -> 2/4; top-5 clipped to top-3: all 4
    assert acc == {1: 50.0, 3: 100.0}
    out = capsys.readouterr().out
    assert 'top-5 clipped to top-3: the teacher has 3 classes' in out


def test_clip_topk_merges_duplicates_and_keeps_small_k():
    hook = TeacherAccuracyHook(topk=(1, 2, 5, 10))
    assert hook.clip_topk(3) == (1, 2, 3)
    assert hook.clip_topk(1000) == (1, 2, 5, 10)
    acc = TeacherAccuracyHook(topk=(1, 2)).evaluate(FakeDistiller(), batches())
    assert acc == {1: 50.0, 2: 75.0}  # sample 1 (label 1, rank 2) joins at k=2
