"""Turn an SSLD distiller checkpoint into a plain classifier checkpoint."""
import os.path as osp
from typing import Dict

import torch

from ssld_mm.utils.checkpoint import load_local_checkpoint
from ssld_mm.utils.fileio import atomic_open
from ssld_mm.utils.state_dict import checkpoint_state_dict

STUDENT_PREFIX = 'student.'


def student_state_dict(ckpt: dict,
                       filename: str = '<checkpoint>') -> Dict[str, torch.Tensor]:
    """The student's weights of a distiller checkpoint, ``student.`` stripped.

    Raises:
        TypeError: If ``ckpt`` is not a checkpoint dict.
        ValueError: If the checkpoint has no ``student.*`` keys.
    """
    state = checkpoint_state_dict(ckpt, filename)
    student = {
        k[len(STUDENT_PREFIX):]: v
        for k, v in state.items() if k.startswith(STUDENT_PREFIX)
    }
    if not student:
        sample = ', '.join(list(state)[:5])
        raise ValueError(f'{filename}: no "student.*" keys; is this an SSLDDistiller '
                         f'checkpoint? First keys: {sample}')
    # The student's own data preprocessor has no persistent state; drop any.
    return {k: v for k, v in student.items() if not k.startswith('data_preprocessor.')}


def extract_student(src: str, dst: str) -> Dict[str, torch.Tensor]:
    """Write the student of distiller checkpoint ``src`` to ``dst``.

    The output is a plain MMPretrain classifier checkpoint (``backbone.*``,
    ``neck.*``, ``head.*``) with ``meta`` naming the source, that MMPretrain loads
    strictly and MMDetection loads with
    ``init_cfg=dict(type='Pretrained', checkpoint=dst, prefix='backbone.')``.
    Written atomically: ``dst`` appears only when complete.

    Returns:
        dict: The student state dict written.
    """
    ckpt = load_local_checkpoint(src)
    state = student_state_dict(ckpt, src)
    meta = dict(ckpt.get('meta') or {}) if isinstance(ckpt, dict) else {}
    meta = {
        k: v
        for k, v in meta.items()
        if k in ('epoch', 'iter', 'cfg', 'mmengine_version', 'seed')
    }
    meta.update(source=osp.abspath(src), converter='ssld_mm.extract_student')
    with atomic_open(dst, 'wb') as f:
        torch.save({'state_dict': state, 'meta': meta}, f)
    return state
