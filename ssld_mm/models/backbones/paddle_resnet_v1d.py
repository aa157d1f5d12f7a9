"""ResNet_vd as PaddleClas builds it for every depth (18 .. 200)."""
from mmcv.cnn import build_conv_layer, build_norm_layer
from mmpretrain.models.backbones.resnet import Bottleneck, ResLayer, ResNetV1d
from torch import nn

from ssld_mm.registry import MODELS


@MODELS.register_module()
class PaddleResNetV1d(ResNetV1d):
    """MMPretrain's ``ResNetV1d`` plus what PaddleClas's ResNet_vd adds.

    For depths 50, 101 and 152 PaddleClas's ``ResNet*_vd`` *is*
    ``mmpretrain.ResNetV1d`` (deep stem 32-32-64, 2x2 average pool before the
    1x1 shortcut conv of downsampling blocks), and the configs use
    ``mmpretrain.ResNetV1d`` there. Two things need this subclass:

    * ``depth=200`` (``ResNet200_vd``: 3, 12, 48, 3 bottleneck blocks), which
      MMPretrain does not list;
    * ``depth=18/34``: PaddleClas gives the first block of *every* stage a
      projection shortcut (1x1 conv + BN), also the first stage, whose input
      and output widths are equal (64). MMPretrain's ``ResLayer`` only adds
      one when the shape changes, so ``ResNet18_vd``/``ResNet34_vd`` weights
      would not load (and the function differs). Here that block gets
      ``downsample = Sequential(conv1x1, BN)`` (keys ``downsample.0``,
      ``downsample.1``, as MMPretrain's stride-1 projection).

    Everything else (arguments, module names ``stem``, ``layer1``..``layer4``,
    ``out_indices``, ``frozen_stages``, ``norm_eval``) is ``ResNetV1d``'s.

    Args:
        depth (int): 18, 34, 50, 101, 152 or 200.
        **kwargs: Any other ``mmpretrain.ResNetV1d`` argument.

    Example:
        >>> backbone = dict(type='ssld_mm.PaddleResNetV1d', depth=200,
        ...                 out_indices=(3, ))
    """
    arch_settings = {
        **ResNetV1d.arch_settings,
        200: (Bottleneck, (3, 12, 48, 3)),
    }

    def __init__(self, depth: int, **kwargs) -> None:
        if depth not in self.arch_settings:
            raise ValueError(f'PaddleResNetV1d: depth must be one of '
                             f'{sorted(self.arch_settings)}, got {depth!r}')
        super().__init__(depth=depth, **kwargs)

    def make_res_layer(self, **kwargs) -> ResLayer:
        layer = super().make_res_layer(**kwargs)
        first = layer[0]
        if first.downsample is None:
            out_channels = kwargs['out_channels']
            first.downsample = nn.Sequential(
                build_conv_layer(
                    kwargs.get('conv_cfg'),
                    kwargs['in_channels'],
                    out_channels,
                    kernel_size=1,
                    stride=1,
                    bias=False),
                build_norm_layer(kwargs['norm_cfg'], out_channels)[1])
        return layer
