"""Load the backbone of a classifier/detector/distiller checkpoint, strictly.

For backbones whose keys are the same in the classifier and in the detector
(ssld_mm's ``PaddleMobileNetV3``): the checkpoint may be

* an MMPretrain classifier (``backbone.*``, ``neck.*``, ``head.*``), as
  ``tools/model_converters/extract_student.py`` and ``paddle_to_mm.py``
  write them;
* an SSLD distiller checkpoint (``student.backbone.*``, ``teacher.*``);
* an MMDetection detector checkpoint (``backbone.*``, ``neck.*``, ...);
* a bare backbone state dict.

Only the backbone keys are used (the classifier head, neck, teacher are
ignored); each of them must fit the model, and every model tensor must be in
the file. Anything else stops with a message naming the file and the keys,
so a wrong file never turns into a silently random backbone.
"""
from typing import Dict, List, Tuple

import torch
import torch.nn as nn

from ssld_mm.utils.checkpoint import load_local_checkpoint
from ssld_mm.utils.state_dict import checkpoint_state_dict, compare_state_dicts

_MAX_LISTED = 20


def backbone_state(
        ckpt: dict,
        filename: str = '<checkpoint>') -> Tuple[Dict[str, torch.Tensor], List[str]]:
    """The backbone-relative weights of a checkpoint.

    Args:
        ckpt (dict): A loaded checkpoint (``{'state_dict': ...}`` or a bare
            state dict).
        filename (str): Shown in error messages.

    Returns:
        tuple: ``(state, ignored)``: backbone keys (prefix removed) ->
        tensors, and the keys left out (head, neck, teacher, ...).

    Raises:
        TypeError: If ``ckpt`` is not a dict.
        ValueError: If it holds no tensors.
    """
    state = checkpoint_state_dict(ckpt, filename)
    for prefix in ('student.backbone.', 'backbone.'):
        if any(k.startswith(prefix) for k in state):
            ignored = sorted(k for k in state if not k.startswith(prefix))
            return {
                k[len(prefix):]: v
                for k, v in state.items() if k.startswith(prefix)
            }, ignored
    return state, []


def load_backbone_strictly(backbone: nn.Module, filename: str) -> dict:
    """Load the backbone weights of ``filename`` into ``backbone``.

    Args:
        backbone (nn.Module): The backbone.
        filename (str): A local checkpoint (see the module doc).

    Returns:
        dict: ``loaded`` (number of tensors) and ``ignored`` (the file's
        non-backbone keys).

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: Naming the file, the missing and unexpected keys and the
            shape mismatches, when the weights do not fit.

    Example:
        >>> model = PaddleMobileNetV3('large', feature_maps=[2, 3, 4])
        >>> load_backbone_strictly(model, 'checkpoints/mbv3_ssld.pth')
    """
    state, ignored = backbone_state(load_local_checkpoint(filename), filename)
    mismatch = compare_state_dicts(backbone.state_dict(), state)
    if mismatch:
        raise ValueError(
            f'backbone checkpoint {filename} does not fit '
            f'{type(backbone).__name__} (model.backbone.init_cfg.checkpoint):'
            f'{mismatch.describe(_MAX_LISTED)}')
    backbone.load_state_dict(state, strict=True)
    return dict(loaded=len(state), ignored=ignored)
