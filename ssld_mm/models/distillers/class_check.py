"""Teacher and student must predict the same classes: checked at build time."""
from typing import Optional

import torch
from torch import nn


def _num_classes(model: nn.Module, size: int) -> Optional[int]:
    """The classes ``model`` predicts: its head's ``num_classes``, else the
    width of the logits of one forward pass on a ``size`` x ``size`` input."""
    n = getattr(getattr(model, 'head', None), 'num_classes', None)
    if isinstance(n, int):
        return n
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            logits = model(torch.zeros(1, 3, size, size), mode='tensor')
    except Exception:  # noqa: BLE001 - the first batch will tell
        return None
    finally:
        model.train(was_training)
    if isinstance(logits, (tuple, list)):
        logits = logits[-1]
    return int(logits.shape[-1]) if isinstance(logits, torch.Tensor) else None


def check_same_classes(student: nn.Module, teacher: nn.Module, size: int = 64) -> None:
    """Raise when teacher and student predict different numbers of classes.

    Uses the heads' ``num_classes`` (MMPretrain heads have it) and otherwise
    one forward pass of each on a tiny zero input, so the mismatch stops the
    run when the distiller is built, not at the first training batch.

    Raises:
        ValueError: Naming both counts and the config keys to fix.
    """
    n_s, n_t = _num_classes(student, size), _num_classes(teacher, size)
    if n_s is not None and n_t is not None and n_s != n_t:
        raise ValueError(
            f'the teacher predicts {n_t} classes (model.teacher.head.'
            f'num_classes) but the student {n_s} (model.student.head.'
            'num_classes): distillation matches class by class, make them '
            'equal (the teacher of another data set needs fine-tuning first)')
