"""PaddleClas's MobileNetV3 classifier part as an MMPretrain head."""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from mmcv.cnn import build_activation_layer
from mmpretrain.models.heads import ClsHead
from torch import nn

from ssld_mm.registry import MODELS

_DROPOUT_MODES = ('downscale_in_infer', 'upscale_in_train')


@MODELS.register_module()
class PaddleMobileNetV3Head(ClsHead):
    """``last_conv`` (1x1, no bias) -> hardswish -> dropout -> ``fc``.

    The part of PaddleClas's MobileNetV3 after global average pooling: put it
    behind :class:`PaddleMobileNetV3` and a ``GlobalAveragePooling`` neck.
    ``last_conv`` acts on a pooled ``1x1`` map, so it is a bias-free
    ``nn.Linear`` here (the converter reshapes Paddle's ``[out, in, 1, 1]``
    kernel). It lives in the head, like MMPretrain's own MobileNetV3 configs
    (``StackedLinearClsHead``) keep the 1280-wide layer in the head, so the
    backbone ends on a feature map and serves detection unchanged.

    Paddle's dropout here is ``mode='downscale_in_infer'``: training zeroes
    units *without* rescaling the survivors, and inference multiplies by
    ``1 - p``. That is the default, and logits equal Paddle's in eval mode
    (PyTorch's ``nn.Dropout`` would give logits larger by ``1/(1-p)`` in the
    pre-``fc`` features). ``dropout_mode='upscale_in_train'`` gives PyTorch's
    behaviour for models trained from scratch.

    Args:
        num_classes (int): Number of classes.
        in_channels (int): Channels of the pooled feature (960 for large
            x1.0, 576 for small x1.0, ``make_divisible(scale * 960)`` ...).
            Defaults to 960.
        mid_channels (int): Width of ``last_conv``; PaddleClas uses 1280 for
            every scale. Defaults to 1280.
        dropout_rate (float): Dropout probability in [0, 1). Defaults to 0.2.
        dropout_mode (str): ``'downscale_in_infer'`` (Paddle) or
            ``'upscale_in_train'`` (PyTorch). Defaults to
            ``'downscale_in_infer'``.
        act_cfg (dict): Activation after ``last_conv``. Defaults to HSwish.
        init_cfg (dict, optional): Initialisation. Defaults to
            ``Normal(std=0.01)`` for the linear layers.
        **kwargs: ``loss``, ``topk``, ``cal_acc`` of ``ClsHead``.

    Example:
        >>> head = dict(type='ssld_mm.PaddleMobileNetV3Head', num_classes=1000,
        ...             in_channels=960, mid_channels=1280, dropout_rate=0.2,
        ...             loss=dict(type='mmpretrain.CrossEntropyLoss'))
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int = 960,
                 mid_channels: int = 1280,
                 dropout_rate: float = 0.2,
                 dropout_mode: str = 'downscale_in_infer',
                 act_cfg: dict = dict(type='HSwish'),
                 init_cfg: Optional[dict] = dict(
                     type='Normal', layer='Linear', std=0.01),
                 **kwargs) -> None:
        super().__init__(init_cfg=init_cfg, **kwargs)
        for name, value in (('num_classes', num_classes), ('in_channels', in_channels),
                            ('mid_channels', mid_channels)):
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f'PaddleMobileNetV3Head: {name} must be a '
                                 f'positive int, got {value!r}')
        if not 0.0 <= dropout_rate < 1.0:
            raise ValueError('PaddleMobileNetV3Head: dropout_rate must be in '
                             f'[0, 1), got {dropout_rate!r}')
        if dropout_mode not in _DROPOUT_MODES:
            raise ValueError(f'PaddleMobileNetV3Head: dropout_mode must be one '
                             f'of {_DROPOUT_MODES}, got {dropout_mode!r}')
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.mid_channels = mid_channels
        self.dropout_rate = float(dropout_rate)
        self.dropout_mode = dropout_mode
        self.last_conv = nn.Linear(in_channels, mid_channels, bias=False)
        self.act = build_activation_layer(act_cfg)
        self.fc = nn.Linear(mid_channels, num_classes)

    def _dropout(self, x: torch.Tensor) -> torch.Tensor:
        p = self.dropout_rate
        if p == 0.0:
            return x
        if self.dropout_mode == 'upscale_in_train':
            return F.dropout(x, p, self.training)
        if self.training:
            # F.dropout scales kept units by 1/(1-p); undo it.
            return F.dropout(x, p, True) * (1.0 - p)
        return x * (1.0 - p)

    def pre_logits(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        """The 1280-d feature before ``fc`` (after hardswish and dropout)."""
        return self._dropout(self.act(self.last_conv(feats[-1])))

    def forward(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        return self.fc(self.pre_logits(feats))
