"""MobileNetV3 exactly as PaddleClas builds it, so its weights load as they are."""
from typing import List, Optional, Sequence, Tuple, Union

import torch
from mmcv.cnn import ConvModule
from mmpretrain.models.utils import make_divisible
from torch import nn

from ssld_mm.registry import MODELS
# The head that completes PaddleClas's MobileNetV3; imported here so that it is
# registered wherever the backbone is.
from ..heads.paddle_mobilenet_v3_head import PaddleMobileNetV3Head  # noqa: F401
from ._indexed_backbone import DEFAULT_INIT_CFG, IndexedBackbone, check_scale
from ._strict_pretrained import load_pretrained, take_pretrained

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
            mid_channels,
            mid_channels,
            kernel_size,
            stride=stride,
            padding=(kernel_size - 1) // 2,
            groups=mid_channels,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg)
        self.mid_se = PaddleSEModule(mid_channels) if use_se else None
        self.linear_conv = ConvModule(
            mid_channels, out_channels, 1, norm_cfg=norm_cfg, act_cfg=None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_expanded(x, self.expand_conv(x))

    def forward_expanded(self, x: torch.Tensor, expanded: torch.Tensor) -> torch.Tensor:
        """The rest of the block, given its input ``x`` and the output of
        ``expand_conv(x)`` (the detection taps read the latter)."""
        out = self.bottleneck_conv(expanded)
        if self.mid_se is not None:
            out = self.mid_se(out)
        out = self.linear_conv(out)
        return x + out if self.with_shortcut else out

    def tail_modules(self) -> List[nn.Module]:
        """Everything after ``expand_conv``."""
        parts = (self.bottleneck_conv, self.mid_se, self.linear_conv)
        return [m for m in parts if m is not None]


def mobilenet_v3_stage_groups(stem: List[str], blocks: List[str],
                              tail: List[str]) -> List[List[str]]:
    """PaddleDetection's per-stage grouping of a MobileNetV3.

    The stem gets group 0; block ``i`` (0-based) gets group ``min(i // 3, 4)``;
    the layers after the last block get the group the next block would have
    (4 for large, 3 for small).

    Args:
        stem (list[str]): Module paths of the stem.
        blocks (list[str]): Module paths of the inverted-residual blocks.
        tail (list[str]): Module paths of the layers after the blocks.

    Returns:
        list[list[str]]: Five groups of module paths (some may be empty).
    """
    groups: List[List[str]] = [list(stem)] + [[] for _ in range(4)]
    for i, block in enumerate(blocks):
        groups[min(i // 3, 4)].append(block)
    for extra in tail:
        groups[min(len(blocks) // 3, 4)].append(extra)
    return groups


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

    Detection mode (``feature_maps``, PaddleDetection's ``MobileNetV3RCNN``
    with its ``feature_maps``): the outputs are not block outputs but, for
    each feature level ``l`` in ``feature_maps``, the output of the 1x1
    expansion conv (``expand_conv``, after BN and activation) of the
    stride-2 block whose input has stride ``2**l``; level 5 is
    ``last_second_conv`` (Paddle's ``conv_last``). Large x1.0 with
    ``feature_maps=[2, 3, 4]`` (the Cascade R-CNN FPN recipes) returns
    ``blocks.3.expand_conv`` (72 channels, stride 4), ``blocks.6.expand_conv``
    (240, stride 8) and ``blocks.12.expand_conv`` (672, stride 16);
    ``feature_channels`` lists the widths. The layers after the last tap
    (the rest of that block, the later blocks, ``last_second_conv``) stay in
    the model, so classifier checkpoints (converted PaddleClas weights or a
    distilled student) load with no missing or unexpected key, but they are
    not run and their parameters are frozen (``requires_grad=False``), so
    optimizers and DDP leave them alone. The classifier head (``last_conv``
    960 -> 1280, fc) is not part of the backbone; a ``Pretrained``
    ``init_cfg`` takes only the ``backbone.`` keys of a checkpoint.

    Paddle's ``freeze_norm: true`` is ``norm_cfg=dict(type='BN', eps=1e-5,
    requires_grad=False)`` with ``norm_eval=True``. ``MobileNetV3RCNN`` has
    no frozen stages (``frozen_stages=-1``, the default, matches it).

    Args:
        arch (str): ``'large'`` or ``'small'``. Defaults to ``'large'``.
        scale (float): Width multiplier; PaddleClas publishes 0.35, 0.5,
            0.75, 1.0 and 1.25. Defaults to 1.0.
        out_indices (int | Sequence[int], optional): Outputs to return (see
            above). Defaults to None: the last one.
        feature_maps (Sequence[int], optional): Detection mode: the feature
            levels (strictly increasing, each in 1..5) whose taps are
            returned, see above. Cannot be combined with ``out_indices``.
            Defaults to None (classification mode).
        frozen_stages (int): Freeze outputs ``0..frozen_stages`` (stem
            first); -1 freezes nothing. Defaults to -1.
        norm_cfg (dict): Norm layer config. Defaults to BN with eps 1e-5.
        norm_eval (bool): Keep BN layers in eval mode while training.
            Defaults to False.
        init_cfg (dict | list[dict], optional): Initialisation config.
            ``dict(type='Pretrained', checkpoint=PATH)`` loads the backbone
            of a classifier, distiller, detector or bare backbone checkpoint
            *strictly* (:func:`ssld_mm.converters.load_backbone_strictly`):
            a missing, extra or mis-shaped tensor stops with a ValueError
            naming the file and the keys (MMEngine's own ``Pretrained`` would
            load what fits and continue); ``checkpoint=None`` keeps the
            random init with a warning.
            Defaults to Kaiming for convs and constant 1 for BN.

    Example:
        >>> # detection (PaddleDetection MobileNetV3RCNN, frozen BN)
        >>> backbone = dict(
        ...     type='ssld_mm.PaddleMobileNetV3', arch='large',
        ...     feature_maps=[2, 3, 4],
        ...     norm_cfg=dict(type='BN', eps=1e-5, requires_grad=False),
        ...     norm_eval=True,
        ...     init_cfg=dict(type='Pretrained',
        ...                   checkpoint='checkpoints/mbv3_large_ssld.pth'))
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

    def __init__(
            self,
            arch: str = 'large',
            scale: float = 1.0,
            out_indices: Optional[Union[int, Sequence[int]]] = None,
            feature_maps: Optional[Sequence[int]] = None,
            frozen_stages: int = -1,
            norm_cfg: dict = dict(type='BN', eps=1e-5),
            norm_eval: bool = False,
            init_cfg: Optional[Union[dict, List[dict]]] = DEFAULT_INIT_CFG) -> None:
        self.pretrained_spec, init_cfg = take_pretrained(init_cfg, 'PaddleMobileNetV3')
        super().__init__(init_cfg=init_cfg)
        if arch not in self.arch_settings:
            raise ValueError(f'PaddleMobileNetV3: arch must be one of '
                             f'{sorted(self.arch_settings)}, got {arch!r}')
        self.arch = arch
        self.scale = scale = check_scale(scale, 'PaddleMobileNetV3')
        cfg = self.arch_settings[arch]

        in_channels = self._build_stem(
            make_divisible(self.stem_channels * scale, 8), norm_cfg, 'HSwish')
        blocks = []
        for kernel, expand, out, use_se, act, stride in cfg:
            out_channels = make_divisible(scale * out, 8)
            blocks.append(
                PaddleResidualUnit(in_channels, make_divisible(scale * expand, 8),
                                   out_channels, kernel, stride, use_se, act, norm_cfg))
            in_channels = out_channels
        self.blocks = nn.ModuleList(blocks)
        self.out_channels = make_divisible(scale * self.last_channels[arch], 8)
        self.last_second_conv = ConvModule(
            in_channels,
            self.out_channels,
            1,
            norm_cfg=norm_cfg,
            act_cfg=_ACTS['hardswish'])

        self.feature_maps, self.tap_layers = self._detection_taps(
            feature_maps, out_indices, [row[-1] for row in cfg])
        if out_indices is None:
            out_indices = self.tap_layers or (len(self.blocks) + 1, )
        layers = self.indexed_layers()
        self.feature_channels = [
            layers[i].conv.out_channels if i == len(self.blocks) +
            1 else layers[i].expand_conv.conv.out_channels for i in self.tap_layers
        ]
        self._setup_indices(out_indices, frozen_stages, norm_eval)

    def indexed_layers(self) -> List[nn.Module]:
        return [self.stem, *self.blocks, self.last_second_conv]

    def stage_groups(self) -> List[List[str]]:
        """Module paths of the five groups of ``lr_mult_list``
        (:func:`mobilenet_v3_stage_groups`)."""
        tail = [
            name for name, module in self.named_children()
            if name not in ('stem', 'blocks') and any(True for _ in module.parameters())
        ]
        return mobilenet_v3_stage_groups(
            ['stem'], [f'blocks.{i}' for i in range(len(self.blocks))], tail)

    def init_weights(self) -> None:
        """The configured init, or the strict checkpoint load (see
        ``init_cfg``)."""
        super().init_weights()
        from ssld_mm.converters.backbone_checkpoint import load_backbone_strictly
        load_pretrained(self, self.pretrained_spec, load_backbone_strictly)

    @staticmethod
    def _detection_taps(
            feature_maps: Optional[Sequence[int]], out_indices,
            strides: List[int]) -> Tuple[Optional[Tuple[int, ...]], Tuple[int, ...]]:
        """Validate ``feature_maps``; return it and the tapped layer indices.

        As in Paddle, the level of a block is ``log2`` of the product of the
        block strides up to and including it (the stem is not counted), and
        a stride-2 block of level ``l`` is tapped at its expansion conv.
        """
        if feature_maps is None:
            return None, ()
        if out_indices is not None:
            raise ValueError(
                'PaddleMobileNetV3: give either out_indices (classification '
                'outputs) or feature_maps (detection taps), not both; got '
                f'out_indices={out_indices!r}, feature_maps={feature_maps!r}')
        if (not isinstance(feature_maps, Sequence) or not feature_maps or not all(
                isinstance(lvl, int) and not isinstance(lvl, bool)
                for lvl in feature_maps)
                or any(not 1 <= lvl <= 5 for lvl in feature_maps)
                or list(feature_maps) != sorted(set(feature_maps))):
            raise ValueError(
                'PaddleMobileNetV3: feature_maps must be a non-empty, strictly '
                'increasing list of feature levels in 1..5 (e.g. [2, 3, 4]), '
                f'got {feature_maps!r}')
        level_of = {}
        stride = 1
        for i, block_stride in enumerate(strides):
            stride *= block_stride
            if block_stride == 2:
                level_of[stride.bit_length() - 1] = i + 1
        level_of[5] = len(strides) + 1  # last_second_conv (Paddle conv_last)
        return tuple(feature_maps), tuple(level_of[lvl] for lvl in feature_maps)

    def _unused_modules(self) -> List[nn.Module]:
        """Detection mode: the modules after the last tap (never run)."""
        if not self.tap_layers:
            return []
        last = self.tap_layers[-1]
        if last == len(self.blocks) + 1:
            return []
        return (self.blocks[last - 1].tail_modules() + list(self.blocks[last:]) +
                [self.last_second_conv])

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        if self.feature_maps is None:
            return super().forward(x)
        outs = []
        x = self.stem(x)
        for index, block in enumerate(self.blocks, start=1):
            if index in self.tap_layers:
                expanded = block.expand_conv(x)
                outs.append(expanded)
                if len(outs) == len(self.tap_layers):
                    return tuple(outs)
                x = block.forward_expanded(x, expanded)
            else:
                x = block(x)
        outs.append(self.last_second_conv(x))
        return tuple(outs)

    def _freeze_stages(self) -> None:
        super()._freeze_stages()
        for module in self._unused_modules():
            module.eval()
            for param in module.parameters():
                param.requires_grad = False
