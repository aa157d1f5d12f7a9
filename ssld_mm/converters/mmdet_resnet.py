"""Classifier checkpoints -> MMDetection ``ResNetV1d`` backbone weights.

MMPretrain's and MMDetection's ``ResNetV1d`` are the same network with
different keys: MMPretrain's deep stem is three ConvModules
(``stem.{0,1,2}.conv/bn``), MMDetection's a flat Sequential
(``stem.0/1/3/4/6/7``); MMDetection puts an average pool in front of every
projection shortcut (``downsample.1/.2``, ``layer1`` too), MMPretrain only
where the stride is not 1 (``downsample.0/.1`` in ``layer1``). The checkpoints
ssld_mm writes come in both:

* ``tools/model_converters/extract_student.py`` and ``paddle_to_mm.py
  --format mmpretrain``: an MMPretrain classifier (``backbone.*``, ``head.*``);
* ``paddle_to_mm.py --format mmdet``: MMDetection backbone keys, no prefix;
* an MMDetection detector checkpoint (``backbone.*`` in MMDetection layout)
  and an SSLD distiller checkpoint (``student.backbone.*``) work too.

:func:`load_mmdet_resnet` finds the layout, converts, and loads strictly: the
only keys a classifier checkpoint may lack are the offset convs of DCN layers
(``*.conv_offset.*``, which classifiers do not have; they keep MMCV's zero
init, as in PaddleDetection). Anything else that does not fit stops with a
message naming the file and the keys.
"""
import re
from typing import Dict, List, Tuple

import torch
import torch.nn as nn

from ssld_mm.utils.checkpoint import load_local_checkpoint
from ssld_mm.utils.state_dict import checkpoint_state_dict, compare_state_dicts
from .paddle_keys import mmpretrain_to_mmdet_resnet

_WRAPPER_PREFIXES = ('module.', 'student.')
_MMPRETRAIN_STEM = re.compile(r'stem\.[012]\.(conv|bn)\.')
_DCN_OFFSET = re.compile(r'(^|\.)conv_offset\.')
_MAX_LISTED = 20


def to_mmdet_resnet_state(
        ckpt: dict,
        filename: str = '<checkpoint>'
) -> Tuple[Dict[str, torch.Tensor], str, List[str]]:
    """The backbone weights of a checkpoint in MMDetection ``ResNet`` keys.

    Args:
        ckpt (dict): A loaded checkpoint (``{'state_dict': ...}`` or a bare
            state dict).
        filename (str): Shown in error messages.

    Returns:
        tuple: ``(state, layout, ignored)``: backbone-relative MMDetection
        keys -> tensors, the layout found (``'mmpretrain'`` or ``'mmdet'``),
        and the non-backbone keys left out (``head.*``, ``neck.*``, ...).

    Raises:
        TypeError: If ``ckpt`` is not a dict.
        ValueError: If it holds no tensors.
    """
    state = checkpoint_state_dict(ckpt, filename, strip=_WRAPPER_PREFIXES)
    ignored: List[str] = []
    if any(k.startswith('backbone.') for k in state):
        ignored = sorted(k for k in state if not k.startswith('backbone.'))
        state = {
            k[len('backbone.'):]: v
            for k, v in state.items() if k.startswith('backbone.')
        }
    if any(_MMPRETRAIN_STEM.match(k) for k in state):
        converted = {
            mmpretrain_to_mmdet_resnet('backbone.' + k): v
            for k, v in state.items()
        }
        return converted, 'mmpretrain', ignored
    return state, 'mmdet', ignored


def load_mmdet_resnet(backbone: nn.Module, filename: str) -> dict:
    """Load a classifier/backbone checkpoint into an MMDetection ResNet, strictly.

    Args:
        backbone (nn.Module): An ``mmdet`` ``ResNet``/``ResNetV1d`` (DCN or not).
        filename (str): Local checkpoint (see the module doc for the layouts).

    Returns:
        dict: ``layout``, ``loaded`` (number of tensors), ``ignored``
        (non-backbone keys of the file), ``dcn_offsets_kept`` (offset-conv
        keys of the model that the file does not have).

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: Naming the file and the missing keys, unexpected keys and
            shape mismatches, when the weights do not fit.
    """
    state, layout, ignored = to_mmdet_resnet_state(
        load_local_checkpoint(filename), filename)
    mismatch = compare_state_dicts(backbone.state_dict(), state)
    # DCN offset convs are new in the detector: they keep their init
    offsets = [k for k in mismatch.missing if _DCN_OFFSET.search(k)]
    mismatch = mismatch._replace(
        missing=[k for k in mismatch.missing if not _DCN_OFFSET.search(k)])
    if mismatch:
        raise ValueError(
            f'backbone checkpoint {filename} ({layout} key layout) does not '
            f'fit {type(backbone).__name__}(depth='
            f'{getattr(backbone, "depth", "?")}) (model.backbone.init_cfg.'
            f'checkpoint):'
            f'{mismatch.describe(_MAX_LISTED)}')
    backbone.load_state_dict(state, strict=False)  # only offsets missing
    return dict(
        layout=layout, loaded=len(state), ignored=ignored, dcn_offsets_kept=offsets)
