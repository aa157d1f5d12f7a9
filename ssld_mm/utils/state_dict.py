"""The weights inside a loaded checkpoint, with wrapper prefixes removed."""
from typing import Dict, List, Mapping, NamedTuple, Sequence

import torch

#: ``module.``: weights saved from a DDP-wrapped model.
WRAPPER_PREFIXES = ('module.', )


def checkpoint_state_dict(
        ckpt: dict,
        filename: str = '<checkpoint>',
        strip: Sequence[str] = WRAPPER_PREFIXES) -> Dict[str, torch.Tensor]:
    """The tensors of a loaded checkpoint, prefixes in ``strip`` removed.

    Accepts MMEngine / MMPretrain / MMDetection checkpoints (weights under
    ``'state_dict'``) and bare state dicts. Each prefix of ``strip`` is
    removed, in order, when *every* key has it: ``('module.', 'student.')``
    turns a DDP-saved SSLD distiller checkpoint whose only weights are the
    student's into classifier keys.

    Args:
        ckpt (dict): What ``torch.load`` returned.
        filename (str): Shown in error messages.
        strip (Sequence[str]): Prefixes to remove. Defaults to
            :data:`WRAPPER_PREFIXES`.

    Returns:
        dict: Key -> tensor (non-tensor entries are dropped).

    Raises:
        TypeError: If ``ckpt`` or its ``state_dict`` is not a dict.
        ValueError: If it holds no tensors.

    Example:
        >>> ckpt = load_local_checkpoint('work_dirs/r50vd_mbv3/epoch_1.pth')
        >>> state = checkpoint_state_dict(ckpt, strip=('module.', ))
    """
    if not isinstance(ckpt, dict):
        raise TypeError(f'{filename}: expected a checkpoint dict, got '
                        f'{type(ckpt).__name__}')
    state = ckpt.get('state_dict', ckpt)
    if not isinstance(state, dict):
        raise TypeError(f"{filename}: 'state_dict' is a "
                        f'{type(state).__name__}, expected a dict')
    state = {k: v for k, v in state.items() if isinstance(v, torch.Tensor)}
    if not state:
        raise ValueError(f'{filename}: the checkpoint holds no tensors')
    for prefix in strip:
        if all(k.startswith(prefix) for k in state):
            state = {k[len(prefix):]: v for k, v in state.items()}
    return state


class KeyMismatch(NamedTuple):
    """How a state dict fits a model (every list sorted).

    Attributes:
        missing (list[str]): Model keys the state dict lacks.
        unexpected (list[str]): State-dict keys the model does not have.
        mismatched (list[str]): ``'key: checkpoint (..) vs model (..)'``
            for keys whose shapes differ.
    """
    missing: List[str]
    unexpected: List[str]
    mismatched: List[str]

    def __bool__(self) -> bool:
        return bool(self.missing or self.unexpected or self.mismatched)

    def describe(self, max_listed: int = 20) -> str:
        """The three lists as indented message lines (empty ones left out)."""
        out = ''
        for title, items in (('missing keys', self.missing),
                             ('unexpected keys', self.unexpected), ('shape mismatches',
                                                                    self.mismatched)):
            if not items:
                continue
            more = (f'\n    ... and {len(items) - max_listed} more'
                    if len(items) > max_listed else '')
            out += (f'\n  {title} ({len(items)}):\n    ' +
                    '\n    '.join(items[:max_listed]) + more)
        return out


def compare_state_dicts(own: Mapping[str, torch.Tensor],
                        state: Mapping[str, torch.Tensor]) -> KeyMismatch:
    """Compare a model's state dict ``own`` with ``state`` to be loaded.

    Example:
        >>> mismatch = compare_state_dicts(model.state_dict(), state)
        >>> if mismatch:
        ...     raise ValueError(f'{filename} does not fit:{mismatch.describe()}')
    """
    return KeyMismatch(
        missing=sorted(set(own) - set(state)),
        unexpected=sorted(set(state) - set(own)),
        mismatched=[
            f'{k}: checkpoint {tuple(state[k].shape)} vs model '
            f'{tuple(own[k].shape)}' for k in sorted(set(own) & set(state))
            if state[k].shape != own[k].shape
        ])
