"""``init_cfg=dict(type='Pretrained', checkpoint=PATH)`` loaded strictly.

MMEngine's ``Pretrained`` initialiser loads whatever keys fit and carries on,
so a classifier checkpoint given to a detection backbone can load half empty
without an error. The backbones that take SSLD / PaddleClas weights
(:class:`~ssld_mm.models.backbones.PaddleMobileNetV3`,
:class:`~ssld_mm.models.backbones.SSLDResNetV1d`) instead take the
``Pretrained`` config out of MMEngine's hands in ``__init__``
(:func:`take_pretrained`) and load the file in ``init_weights``, after the
children's own init, with a strict converter (:func:`load_pretrained`).

Example:
    >>> class MyBackbone(BaseBackbone):
    ...     def __init__(self, init_cfg=None):
    ...         self.pretrained, init_cfg = take_pretrained(init_cfg, 'MyBackbone')
    ...         super().__init__(init_cfg=init_cfg)
    ...     def init_weights(self):
    ...         super().init_weights()
    ...         load_pretrained(self, self.pretrained, load_backbone_strictly)
"""
import logging
from typing import Callable, NamedTuple, Optional, Tuple

from mmengine.logging import print_log
from torch import nn


class PretrainedSpec(NamedTuple):
    """What a ``Pretrained`` init config asked for.

    Attributes:
        requested (bool): The init config was ``type='Pretrained'``.
        checkpoint (str | None): Its ``checkpoint`` (None: not set).
    """
    requested: bool = False
    checkpoint: Optional[str] = None


def take_pretrained(init_cfg, owner: str) -> Tuple[PretrainedSpec, Optional[dict]]:
    """Split a ``Pretrained`` init config off for a strict load.

    Args:
        init_cfg (dict | list | None): The backbone's ``init_cfg``.
        owner (str): Class name for messages.

    Returns:
        tuple: The :class:`PretrainedSpec` and the ``init_cfg`` to hand to
        MMEngine: ``None`` for a ``Pretrained`` one (loaded later, strictly),
        anything else unchanged.

    Raises:
        ValueError: For a ``Pretrained`` config with keys other than ``type``
            and ``checkpoint`` (``prefix`` and the like: the converters find
            the backbone keys by themselves), naming the keys.
    """
    if not (isinstance(init_cfg, dict) and init_cfg.get('type') == 'Pretrained'):
        return PretrainedSpec(), init_cfg
    extra = set(init_cfg) - {'type', 'checkpoint'}
    if extra:
        raise ValueError(f'{owner}: a Pretrained init_cfg takes only type and '
                         'checkpoint (the backbone keys are found by '
                         f'themselves), got {sorted(extra)}')
    return PretrainedSpec(True, init_cfg.get('checkpoint')), None


def load_pretrained(backbone: nn.Module, spec: PretrainedSpec,
                    load: Callable[[nn.Module, str], dict]) -> None:
    """Load ``spec.checkpoint`` into ``backbone`` with ``load``, and log it.

    Nothing happens when no ``Pretrained`` init was requested; a
    ``Pretrained`` init without a checkpoint keeps the random init, with a
    warning.

    Args:
        backbone (nn.Module): The backbone (its class names the log lines).
        spec (PretrainedSpec): From :func:`take_pretrained`.
        load (callable): ``load(backbone, filename) -> info`` raising a
            ``ValueError`` that names the file and keys when the checkpoint
            does not fit; ``info`` has ``loaded`` (int) and ``ignored`` (list)
            and may have ``layout`` (str) and ``dcn_offsets_kept`` (list).
    """
    owner = type(backbone).__name__
    if not spec.requested:
        return
    if spec.checkpoint is None:
        print_log(
            f'{owner}: model.backbone.init_cfg.checkpoint is not set; the '
            'backbone keeps its random init',
            logger='current',
            level=logging.WARNING)
        return
    info = load(backbone, spec.checkpoint)
    layout = f'{info["layout"]} layout, ' if 'layout' in info else ''
    kept = info.get('dcn_offsets_kept', [])
    kept = (f', {len(kept)} DCN offset tensors keep their zero init' if kept else '')
    print_log(
        f'{owner}: loaded {info["loaded"]} tensors from {spec.checkpoint} '
        f'({layout}{len(info["ignored"])} non-backbone keys ignored{kept})',
        logger='current')
