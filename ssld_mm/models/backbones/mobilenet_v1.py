"""MobileNetV1 (PaddleClas's layout; MMPretrain has none)."""
from typing import List

import torch
from mmcv.cnn import ConvModule
from torch import nn

from ssld_mm.registry import MODELS
from ._indexed_backbone import ScaledMobileNet


class DepthwiseSeparable(nn.Module):
    """3x3 depthwise ConvModule then 1x1 pointwise ConvModule (BN, ReLU)."""

    def __init__(self, in_channels: int, mid_channels: int, out_channels: int,
                 groups: int, stride: int, norm_cfg: dict) -> None:
        super().__init__()
        self.depthwise_conv = ConvModule(
            in_channels,
            mid_channels,
            3,
            stride=stride,
            padding=1,
            groups=groups,
            norm_cfg=norm_cfg,
            act_cfg=dict(type='ReLU'))
        self.pointwise_conv = ConvModule(
            mid_channels, out_channels, 1, norm_cfg=norm_cfg, act_cfg=dict(type='ReLU'))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise_conv(self.depthwise_conv(x))


@MODELS.register_module()
class MobileNetV1(ScaledMobileNet):
    """MobileNetV1 (Howard et al. 2017) as PaddleClas builds it.

    Widths are ``int(c * scale)`` (PaddleClas truncates, no rounding to 8),
    so ``scale`` in {0.25, 0.5, 0.75, 1.0} matches ``MobileNetV1_x0_25`` ..
    ``MobileNetV1``. BN eps 1e-5, ReLU after every BN.

    Module names (for layer-wise learning rates): ``stem.`` (3x3 conv,
    stride 2), ``blocks.0.`` .. ``blocks.12.`` (depthwise-separable blocks,
    each ``depthwise_conv`` + ``pointwise_conv``). Output indices: 0 = stem,
    ``i`` = ``blocks[i-1]`` (1..13); the default is 13 (1024 * scale
    channels, stride 32). PaddleClas's stage outputs (``blocks[0, 2, 4,
    10]``) are indices (1, 3, 5, 11).

    Args:
        scale (float): Width multiplier. Defaults to 1.0.
        out_indices (int | Sequence[int]): Outputs to return. Defaults to
            ``-1``, the last one (13).
        frozen_stages (int): Freeze outputs ``0..frozen_stages``; -1 freezes
            nothing. Defaults to -1.
        norm_cfg (dict): Norm layer config. Defaults to BN (eps 1e-5).
        norm_eval (bool): Keep BN layers in eval mode while training.
            Defaults to False.
        init_cfg (dict | list[dict], optional): Initialisation config.
            Defaults to Kaiming for convs and constant 1 for BN.

    Example:
        >>> # PaddleClas's four stage outputs, e.g. for a detection neck
        >>> backbone = MobileNetV1(scale=0.5, out_indices=(3, 5, 11, 13))
        >>> [tuple(o.shape) for o in backbone(torch.rand(1, 3, 224, 224))]
        [(1, 64, 56, 56), (1, 128, 28, 28), (1, 256, 14, 14), (1, 512, 7, 7)]
        >>> # in a config
        >>> backbone = dict(type='ssld_mm.MobileNetV1', scale=1.0)
    """
    # depthwise channels, pointwise out channels, stride (before scaling)
    arch_settings = [(32, 64, 1), (64, 128, 2), (128, 128, 1), (128, 256, 2),
                     (256, 256, 1), (256, 512, 2), (512, 512, 1), (512, 512, 1),
                     (512, 512, 1), (512, 512, 1), (512, 512, 1), (512, 1024, 2),
                     (1024, 1024, 1)]

    def _build_body(self, in_channels: int, norm_cfg: dict) -> None:
        """The 13 depthwise-separable blocks."""
        scale, blocks = self.scale, []
        for mid, out, stride in self.arch_settings:
            blocks.append(
                DepthwiseSeparable(in_channels, int(mid * scale), int(out * scale),
                                   int(mid * scale), stride, norm_cfg))
            in_channels = int(out * scale)
        self.blocks = nn.ModuleList(blocks)
        self.out_channels = in_channels

    def indexed_layers(self) -> List[nn.Module]:
        return [self.stem, *self.blocks]

    def stage_groups(self) -> List[List[str]]:
        """Module paths of the stem and stages 1-4, by output stride (/2, /4,
        /8, /16, /32): the five groups of ``lr_mult_list``."""
        b = [f'blocks.{i}' for i in range(len(self.blocks))]
        return [['stem', b[0]], b[1:3], b[3:5], b[5:11], b[11:13]]
