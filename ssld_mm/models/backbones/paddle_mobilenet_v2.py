"""MobileNetV2 exactly as PaddleClas builds it, so its weights load as they are."""
from typing import List

import torch
from mmcv.cnn import ConvModule
from torch import nn

from ssld_mm.registry import MODELS
from ._indexed_backbone import ScaledMobileNet


class PaddleInvertedResidual(nn.Module):
    """Expand 1x1 (always, also for expansion 1) -> depthwise 3x3 -> linear
    1x1; ReLU6 after the first two; identity shortcut unless ``first``."""

    def __init__(self, in_channels: int, out_channels: int, stride: int,
                 expand_ratio: int, with_shortcut: bool, norm_cfg: dict) -> None:
        super().__init__()
        mid_channels = int(round(in_channels * expand_ratio))
        act_cfg = dict(type='ReLU6')
        self.with_shortcut = with_shortcut
        self.expand_conv = ConvModule(
            in_channels, mid_channels, 1, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.bottleneck_conv = ConvModule(
            mid_channels,
            mid_channels,
            3,
            stride=stride,
            padding=1,
            groups=mid_channels,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg)
        self.linear_conv = ConvModule(
            mid_channels, out_channels, 1, norm_cfg=norm_cfg, act_cfg=None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.linear_conv(self.bottleneck_conv(self.expand_conv(x)))
        return x + out if self.with_shortcut else out


@MODELS.register_module()
class PaddleMobileNetV2(ScaledMobileNet):
    """MobileNetV2 as PaddleClas builds it (``MobileNetV2``, ``MobileNetV2_x*``).

    Why not MMPretrain's ``MobileNetV2``: PaddleClas's first block (expansion
    1) still has a 1x1 expand conv, which MMPretrain's omits, so the weights
    do not fit; and PaddleClas scales widths with ``int(c * scale)`` where
    MMPretrain uses ``make_divisible(c * scale, 8)`` (different channels for
    x0.25/x0.75). Every first block of a stage has no shortcut, the others
    have an identity shortcut; the last 1x1 conv has
    ``int(1280 * scale)`` channels for ``scale > 1`` and 1280 otherwise.

    Module names (for layer-wise learning rates): ``stem.`` (3x3 conv,
    stride 2), ``stages.0.`` .. ``stages.6.`` (the seven bottleneck stages
    t,c,n,s = (1,16,1,1) (6,24,2,2) (6,32,3,2) (6,64,4,2) (6,96,3,1)
    (6,160,3,2) (6,320,1,1); ``stages.S.J.`` is block J of stage S, with
    ``expand_conv``, ``bottleneck_conv``, ``linear_conv``), ``final_conv.``
    (the 1x1 conv to 1280 channels). Output indices: 0 = stem, ``i`` =
    ``stages[i-1]`` (1..7), 8 = ``final_conv`` (the default).

    Args:
        scale, frozen_stages, norm_cfg, norm_eval, init_cfg: As in
            :class:`~ssld_mm.models.backbones.MobileNetV1`.
        out_indices (int | Sequence[int]): Outputs to return. Defaults to
            ``-1``, the last one (8).

    Example:
        >>> # a converted PaddleClas MobileNetV2_x0_5 (paddle_to_mm.py output)
        >>> backbone = dict(type='ssld_mm.PaddleMobileNetV2', scale=0.5,
        ...                 init_cfg=dict(type='Pretrained', prefix='backbone.',
        ...                               checkpoint='checkpoints/mbv2_x0_5.pth'))
    """
    # expansion t, channels c, blocks n, stride s
    arch_settings = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                     (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]

    stem_act = 'ReLU6'

    def _build_body(self, in_channels: int, norm_cfg: dict) -> None:
        """The seven bottleneck stages and the final 1x1 conv."""
        stages = []
        for t, c, n, s in self.arch_settings:
            out_channels = int(c * self.scale)
            blocks = [
                PaddleInvertedResidual(in_channels, out_channels, s, t, False, norm_cfg)
            ]
            blocks += [
                PaddleInvertedResidual(out_channels, out_channels, 1, t, True, norm_cfg)
                for _ in range(1, n)
            ]
            stages.append(nn.Sequential(*blocks))
            in_channels = out_channels
        self.stages = nn.ModuleList(stages)
        self.out_channels = int(1280 * self.scale) if self.scale > 1.0 else 1280
        self.final_conv = ConvModule(
            in_channels,
            self.out_channels,
            1,
            norm_cfg=norm_cfg,
            act_cfg=dict(type='ReLU6'))

    def indexed_layers(self) -> List[nn.Module]:
        return [self.stem, *self.stages, self.final_conv]

    def stage_groups(self) -> List[List[str]]:
        """Module paths of the stem and stages 1-4, by output stride (/2, /4,
        /8, /16, /32): the five groups of ``lr_mult_list``."""
        s = [f'stages.{i}' for i in range(len(self.stages))]
        return [['stem', s[0]], [s[1]], [s[2]], s[3:5], s[5:7] + ['final_conv']]
