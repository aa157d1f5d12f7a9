"""Res2Net_vd as PaddleClas builds it (``Res2Net*_vd_26w_4s``)."""
import torch
import torch.utils.checkpoint as cp
from mmpretrain.models.backbones.res2net import Bottle2neck, Res2Net
from torch import nn

from ssld_mm.registry import MODELS


class PaddleBottle2neck(Bottle2neck):
    """``Bottle2neck`` with PaddleClas's split rule (same parameters).

    PaddleClas decides by the block's *stride*, MMPretrain by its position:
    in a stride-2 block every split gets its own 3x3 conv and the last split
    is average-pooled (3x3, padding 1, padding not counted); in every
    stride-1 block (also the first block of the first stage) the splits are
    hierarchical (``conv_i(x_i + y_{i-1})``) and the last split passes
    through unpooled.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.conv2_stride != 1:
            self.pool = nn.AvgPool2d(
                kernel_size=3,
                stride=self.conv2_stride,
                padding=1,
                count_include_pad=False)
        elif hasattr(self, 'pool'):
            del self.pool

    def forward(self, x: torch.Tensor) -> torch.Tensor:

        def _inner_forward(x):
            identity = x
            out = self.relu(self.norm1(self.conv1(x)))
            spx = torch.split(out, self.width, 1)
            separate = self.conv2_stride != 1
            sp = None
            outs = []
            for i in range(self.scales - 1):
                sp = spx[i] if (i == 0 or separate) else sp + spx[i]
                sp = self.relu(self.bns[i](self.convs[i](sp.contiguous())))
                outs.append(sp)
            outs.append(self.pool(spx[-1]) if separate else spx[-1])
            out = self.norm3(self.conv3(torch.cat(outs, 1)))
            if self.downsample is not None:
                identity = self.downsample(x)
            return out + identity

        if self.with_cp and x.requires_grad:
            out = cp.checkpoint(_inner_forward, x)
        else:
            out = _inner_forward(x)
        return self.relu(out)


@MODELS.register_module()
class PaddleRes2Net(Res2Net):
    """Res2Net_vd as PaddleClas builds it; loads ``Res2Net*_vd_26w_4s`` weights.

    Same modules and parameter names as ``mmpretrain.Res2Net`` with
    ``deep_stem=True, avg_down=True`` (its defaults), which has the right
    *shapes* but computes something else, so it is not used:

    * MMPretrain treats the first block of every stage as a "stage" block
      (separate split convs, last split pooled) even when its stride is 1;
      PaddleClas does that only for stride-2 blocks, so the first block of
      ``layer1`` differs;
    * the pool of the last split counts the zero padding in MMPretrain
      (``count_include_pad=True``) and not in PaddleClas (``exclusive``);
    * MMPretrain has no depth 200 (``Res2Net200_vd_26w_4s``).

    Depths: 50 (3, 4, 6, 3), 101 (3, 4, 23, 3), 152 (3, 8, 36, 3),
    200 (3, 12, 48, 3). Module names: ``stem.``, ``layer1.`` .. ``layer4.``.

    Args:
        depth (int): 50, 101, 152 or 200.
        scales (int): Splits per block. Defaults to 4.
        base_width (int): Width of a split in the first stage. Defaults to 26.
        **kwargs: Any other ``mmpretrain.Res2Net`` argument.

    Example:
        >>> backbone = dict(type='ssld_mm.PaddleRes2Net', depth=50, scales=4,
        ...                 base_width=26, out_indices=(3, ))
    """
    arch_settings = {
        50: (PaddleBottle2neck, (3, 4, 6, 3)),
        101: (PaddleBottle2neck, (3, 4, 23, 3)),
        152: (PaddleBottle2neck, (3, 8, 36, 3)),
        200: (PaddleBottle2neck, (3, 12, 48, 3)),
    }

    def __init__(self, depth: int, **kwargs) -> None:
        if depth not in self.arch_settings:
            raise ValueError(f'PaddleRes2Net: depth must be one of '
                             f'{sorted(self.arch_settings)}, got {depth!r}')
        if not kwargs.get('deep_stem', True) or not kwargs.get('avg_down', True):
            raise ValueError('PaddleRes2Net: deep_stem and avg_down must be '
                             'True (the "vd" in Res2Net_vd)')
        super().__init__(depth=depth, **kwargs)
