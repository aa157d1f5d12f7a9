"""Shared behaviour of the Paddle-compatible plain backbones (not registered).

A backbone here is a chain of layers numbered ``0 .. N-1`` (the stem is 0):
``out_indices`` picks which outputs are returned, ``frozen_stages = k``
freezes layers ``0 .. k`` (``-1`` freezes nothing), and ``norm_eval`` keeps
every BN layer in eval mode during training (MMPretrain's semantics).
"""
from typing import List, Optional, Sequence, Tuple, Union

import torch
from mmcv.cnn import ConvModule
from mmpretrain.models.backbones.base_backbone import BaseBackbone
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

#: Default ``init_cfg`` of the Paddle-compatible backbones: Kaiming for convs,
#: constant 1 for BN (MMEngine's BaseModule copies it per instance).
DEFAULT_INIT_CFG = [
    dict(type='Kaiming', layer=['Conv2d']),
    dict(type='Constant', val=1, layer=['_BatchNorm'])
]


def check_scale(scale: float, cls_name: str) -> float:
    """Validate a width multiplier: a positive real number."""
    if isinstance(scale, bool) or not isinstance(scale, (int, float)):
        raise TypeError(f'{cls_name}: scale must be a number, got {scale!r}')
    if not scale > 0:
        raise ValueError(f'{cls_name}: scale must be > 0, got {scale!r}')
    return float(scale)


class IndexedBackbone(BaseBackbone):
    """Base of :class:`PaddleMobileNetV3`, :class:`PaddleMobileNetV2` and
    :class:`MobileNetV1`; subclasses implement :meth:`indexed_layers`."""

    def _build_stem(self, channels: int, norm_cfg: dict, act: str) -> int:
        """``self.stem``: the 3x3 stride-2 conv + norm + ``act`` every Paddle
        mobile network starts with, from 3 to ``channels``; returns
        ``channels``."""
        self.stem = ConvModule(
            3,
            channels,
            3,
            stride=2,
            padding=1,
            norm_cfg=norm_cfg,
            act_cfg=dict(type=act))
        return channels

    def indexed_layers(self) -> List[nn.Module]:
        """The layers in forward order; the output of layer ``i`` is
        output index ``i``."""
        raise NotImplementedError

    def _setup_indices(self, out_indices: Union[int, Sequence[int]], frozen_stages: int,
                       norm_eval: bool) -> None:
        """Validate and store ``out_indices``, ``frozen_stages``, ``norm_eval``
        (call at the end of ``__init__``, once the layers exist)."""
        name = type(self).__name__
        num = len(self.indexed_layers())
        if isinstance(out_indices, int) and not isinstance(out_indices, bool):
            out_indices = (out_indices, )
        if (not isinstance(out_indices, Sequence) or len(out_indices) == 0 or not all(
                isinstance(i, int) and not isinstance(i, bool) for i in out_indices)):
            raise TypeError(f'{name}: out_indices must be an int or a non-empty '
                            f'sequence of ints, got {out_indices!r}')
        normalised = []
        for index in out_indices:
            if not -num <= index < num:
                raise ValueError(
                    f'{name}: out_indices entry {index} is out of range; '
                    f'this backbone has outputs 0..{num - 1} (or -{num}..-1)')
            normalised.append(index % num)
        if isinstance(frozen_stages, bool) or not isinstance(frozen_stages, int) \
                or not -1 <= frozen_stages < num:
            raise ValueError(f'{name}: frozen_stages must be an int in '
                             f'[-1, {num - 1}], got {frozen_stages!r}')
        self.out_indices = tuple(normalised)
        self.frozen_stages = frozen_stages
        self.norm_eval = bool(norm_eval)
        self._freeze_stages()

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        outs = []
        for i, layer in enumerate(self.indexed_layers()):
            x = layer(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)

    def _freeze_stages(self) -> None:
        for layer in self.indexed_layers()[:self.frozen_stages + 1]:
            layer.eval()
            for param in layer.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True) -> 'IndexedBackbone':
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, _BatchNorm):
                    module.eval()
        return self


class ScaledMobileNet(IndexedBackbone):
    """Base of :class:`MobileNetV1` and :class:`PaddleMobileNetV2`.

    The constructor they share: validate ``scale``, build the stem
    (``int(32 * scale)`` channels, activation :attr:`stem_act`), let the
    subclass build the rest (:meth:`_build_body`), then set up
    ``out_indices`` (default ``-1``: the last layer), ``frozen_stages`` and
    ``norm_eval``. The arguments are documented on the subclasses.
    """

    #: Activation type of the stem (an MMCV activation name).
    stem_act = 'ReLU'

    def __init__(
            self,
            scale: float = 1.0,
            out_indices: Union[int, Sequence[int]] = -1,
            frozen_stages: int = -1,
            norm_cfg: dict = dict(type='BN', eps=1e-5),
            norm_eval: bool = False,
            init_cfg: Optional[Union[dict, List[dict]]] = DEFAULT_INIT_CFG) -> None:
        super().__init__(init_cfg=init_cfg)
        self.scale = check_scale(scale, type(self).__name__)
        in_channels = self._build_stem(int(32 * self.scale), norm_cfg, self.stem_act)
        self._build_body(in_channels, norm_cfg)
        self._setup_indices(out_indices, frozen_stages, norm_eval)

    def _build_body(self, in_channels: int, norm_cfg: dict) -> None:
        """Build every layer after the stem (``in_channels`` wide input)."""
        raise NotImplementedError
