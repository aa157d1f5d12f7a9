"""MobileNetV3 exactly as PaddleClas builds it, so its weights load as they are."""
from typing import List, Optional, Sequence, Union

import torch
from mmcv.cnn import ConvModule
from mmpretrain.models.utils import make_divisible
from torch import nn

from ssld_mm.registry import MODELS
# The head that completes PaddleClas's MobileNetV3; imported here so that it is
# registered wherever the backbone is.
from ..heads.paddle_mobilenet_v3_head import PaddleMobileNetV3Head  # noqa: F401
from ._indexed_backbone import IndexedBackbone, check_scale

_ACTS = {'relu': dict(type='ReLU'), 'hardswish': dict(type='HSwish')}


class PaddleHardsigmoid(nn.Module):
    """Paddle's ``hardsigmoid(x, slope, offset) = clip(slope*x + offset, 0, 1)``.

    PaddleClas's SE gate uses ``slope=0.2`` (not PyTorch's ``1/6``).
    """

    def __init__(self, slope: float = 0.2, offset: float = 0.5) -> None:
        super().__init__()
        self.slope = slope
        self.offset = offset

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x * self.slope + self.offset).clamp(0.0, 1.0)

    def extra_repr(self) -> str:
        return f'slope={self.slope}, offset={self.offset}'


class PaddleSEModule(nn.Module):
    """PaddleClas's SE block: squeeze to ``channels // 4`` (no rounding),
    both 1x1 convs with bias, ReLU, then :class:`PaddleHardsigmoid`."""

    def __init__(self, channels: int, reduction: int = 4) -> None:
        super().__init__()
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.conv1 = nn.Conv2d(channels, channels // reduction, 1)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(channels // reduction, channels, 1)
        self.hardsigmoid = PaddleHardsigmoid(slope=0.2, offset=0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate = self.hardsigmoid(self.conv2(self.relu(self.conv1(self.avg_pool(x)))))
        return x * gate


class PaddleResidualUnit(nn.Module):
    """PaddleClas's MobileNetV3 block: expand 1x1 (always, also when the
    expansion is 1) -> depthwise kxk -> optional SE -> linear 1x1, identity
    shortcut when ``stride == 1`` and ``in == out``."""

    def __init__(self, in_channels: int, mid_channels: int, out_channels: int,
                 kernel_size: int, stride: int, use_se: bool, act: str,
                 norm_cfg: dict) -> None:
        super().__init__()
        act_cfg = _ACTS[act]
        self.with_shortcut = stride == 1 and in_channels == out_channels
        self.expand_conv = ConvModule(
            in_channels, mid_channels, 1, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.bottleneck_conv = ConvModule(
            mid_channels, mid_channels, kernel_size, stride=stride,
            padding=(kernel_size - 1) // 2, groups=mid_channels,
            norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.mid_se = PaddleSEModule(mid_channels) if use_se else None
        self.linear_conv = ConvModule(
            mid_channels, out_channels, 1, norm_cfg=norm_cfg, act_cfg=None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bottleneck_conv(self.expand_conv(x))
        if self.mid_se is not None:
            out = self.mid_se(out)
        out = self.linear_conv(out)
        return x + out if self.with_shortcut else out


@MODELS.register_module()
class PaddleMobileNetV3(IndexedBackbone):
    """MobileNetV3 as PaddleClas builds it (``MobileNetV3_{large,small}_x*``).

    MMPretrain's ``MobileNetV3`` differs from PaddleClas's network, so the
    published PaddleClas/SSLD weights do not fit it: PaddleClas's first block
    always has an expand conv, the SE squeeze width is ``C // 4`` (no
    ``make_divisible``), the SE gate is ``hardsigmoid`` with slope 0.2 (not
    1/6), widths scale with ``make_divisible(c * scale)`` for every scale, and
    the 960/576-channel conv comes last. This backbone reproduces it layer by
    layer (BN eps 1e-5); the classifier part (global pool -> ``last_conv``
    1x1 without bias -> hardswish -> dropout -> fc) is
    :class:`PaddleMobileNetV3Head` after a ``GlobalAveragePooling`` neck.

    Module names (for layer-wise learning rates, ``custom_keys`` with a
    trailing dot): ``stem.`` (3x3 conv, BN, hardswish), ``blocks.0.`` ..
    ``blocks.14.`` (large; ``blocks.10.`` is the last of small), each with
    ``expand_conv``, ``bottleneck_conv``, optional ``mid_se`` and
    ``linear_conv``; ``last_second_conv.`` (1x1 conv to 960/576 channels,
    BN, hardswish). Output indices: 0 = stem, ``i`` = ``blocks[i-1]``,
    ``len(blocks)+1`` = ``last_second_conv`` (16 for large, 12 for small;
    the default). PaddleClas's stage outputs (``MODEL_STAGES_PATTERN``:
    ``blocks[0, 2, 5, 11, 14]`` for large, ``blocks[0, 2, 7, 10]`` for small)
    are output indices (1, 3, 6, 12, 15) and (1, 3, 8, 11).

    Args:
        arch (str): ``'large'`` or ``'small'``. Defaults to ``'large'``.
        scale (float): Width multiplier; PaddleClas publishes 0.35, 0.5,
            0.75, 1.0 and 1.25. Defaults to 1.0.
        out_indices (int | Sequence[int], optional): Outputs to return (see
            above). Defaults to None: the last one.
        frozen_stages (int): Freeze outputs ``0..frozen_stages`` (stem
            first); -1 freezes nothing. Defaults to -1.
        norm_cfg (dict): Norm layer config. Defaults to BN with eps 1e-5.
        norm_eval (bool): Keep BN layers in eval mode while training.
            Defaults to False.
        init_cfg (dict | list[dict], optional): Initialisation config.
            Defaults to Kaiming for convs and constant 1 for BN.

    Example:
        >>> model = dict(
        ...     type='mmpretrain.ImageClassifier',
        ...     backbone=dict(type='ssld_mm.PaddleMobileNetV3', arch='large',
        ...                   scale=1.0),
        ...     neck=dict(type='mmpretrain.GlobalAveragePooling'),
        ...     head=dict(type='ssld_mm.PaddleMobileNetV3Head',
        ...               num_classes=1000, in_channels=960))
    """
    # kernel, expand channels, out channels, SE, activation, stride
    arch_settings = {
        'large': [
            [3, 16, 16, False, 'relu', 1],
            [3, 64, 24, False, 'relu', 2],
            [3, 72, 24, False, 'relu', 1],
            [5, 72, 40, True, 'relu', 2],
            [5, 120, 40, True, 'relu', 1],
            [5, 120, 40, True, 'relu', 1],
            [3, 240, 80, False, 'hardswish', 2],
            [3, 200, 80, False, 'hardswish', 1],
            [3, 184, 80, False, 'hardswish', 1],
            [3, 184, 80, False, 'hardswish', 1],
            [3, 480, 112, True, 'hardswish', 1],
            [3, 672, 112, True, 'hardswish', 1],
            [5, 672, 160, True, 'hardswish', 2],
            [5, 960, 160, True, 'hardswish', 1],
            [5, 960, 160, True, 'hardswish', 1],
        ],
        'small': [
            [3, 16, 16, True, 'relu', 2],
            [3, 72, 24, False, 'relu', 2],
            [3, 88, 24, False, 'relu', 1],
            [5, 96, 40, True, 'hardswish', 2],
            [5, 240, 40, True, 'hardswish', 1],
            [5, 240, 40, True, 'hardswish', 1],
            [5, 120, 48, True, 'hardswish', 1],
            [5, 144, 48, True, 'hardswish', 1],
            [5, 288, 96, True, 'hardswish', 2],
            [5, 576, 96, True, 'hardswish', 1],
            [5, 576, 96, True, 'hardswish', 1],
        ],
    }
    stem_channels = 16
    last_channels = {'large': 960, 'small': 576}

    def __init__(self,
                 arch: str = 'large',
                 scale: float = 1.0,
                 out_indices: Optional[Union[int, Sequence[int]]] = None,
                 frozen_stages: int = -1,
                 norm_cfg: dict = dict(type='BN', eps=1e-5),
                 norm_eval: bool = False,
                 init_cfg: Optional[Union[dict, List[dict]]] = [
                     dict(type='Kaiming', layer=['Conv2d']),
                     dict(type='Constant', val=1, layer=['_BatchNorm'])
                 ]) -> None:
        super().__init__(init_cfg=init_cfg)
        if arch not in self.arch_settings:
            raise ValueError(f'PaddleMobileNetV3: arch must be one of '
                             f'{sorted(self.arch_settings)}, got {arch!r}')
        self.arch = arch
        self.scale = scale = check_scale(scale, 'PaddleMobileNetV3')
        cfg = self.arch_settings[arch]

        in_channels = make_divisible(self.stem_channels * scale, 8)
        self.stem = ConvModule(
            3, in_channels, 3, stride=2, padding=1, norm_cfg=norm_cfg,
            act_cfg=_ACTS['hardswish'])
        blocks = []
        for kernel, expand, out, use_se, act, stride in cfg:
            out_channels = make_divisible(scale * out, 8)
            blocks.append(
                PaddleResidualUnit(in_channels, make_divisible(scale * expand, 8),
                                   out_channels, kernel, stride, use_se, act,
                                   norm_cfg))
            in_channels = out_channels
        self.blocks = nn.ModuleList(blocks)
        self.out_channels = make_divisible(scale * self.last_channels[arch], 8)
        self.last_second_conv = ConvModule(
            in_channels, self.out_channels, 1, norm_cfg=norm_cfg,
            act_cfg=_ACTS['hardswish'])

        if out_indices is None:
            out_indices = (len(self.blocks) + 1, )
        self._setup_indices(out_indices, frozen_stages, norm_eval)

    def indexed_layers(self) -> List[nn.Module]:
        return [self.stem, *self.blocks, self.last_second_conv]
