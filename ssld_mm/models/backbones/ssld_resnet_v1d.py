"""MMDetection's ResNetV1d that takes ssld_mm classifier checkpoints strictly."""
from typing import Optional

from mmdet.models.backbones import ResNetV1d

from ssld_mm.registry import MODELS
from ._strict_pretrained import load_pretrained, take_pretrained


@MODELS.register_module()
class SSLDResNetV1d(ResNetV1d):
    """``mmdet.ResNetV1d`` (DCN, frozen stages, ...) loading SSLD/Paddle weights.

    Everything is MMDetection's ``ResNetV1d``; only loading
    ``init_cfg=dict(type='Pretrained', checkpoint=PATH)`` differs. MMEngine's
    ``Pretrained`` init loads non-strictly and expects MMDetection keys, so a
    classifier checkpoint would load half-empty without an error. Here the
    checkpoint goes through :func:`ssld_mm.converters.load_mmdet_resnet`:

    * accepted layouts: MMPretrain ``ResNetV1d`` classifiers
      (``extract_student.py`` output, ``paddle_to_mm.py --format mmpretrain``,
      keys ``backbone.stem.0.conv.weight`` ...), ``paddle_to_mm.py --format
      mmdet`` backbones (``stem.0.weight`` ...), MMDetection detector
      checkpoints and SSLD distiller checkpoints (``student.*``); the key
      conversion is automatic, head/neck keys are ignored;
    * strict: every backbone tensor must be in the file with the right shape,
      except the offset convs of DCN layers (classifiers have none; they keep
      MMCV's zero init as in PaddleDetection); otherwise a ``ValueError``
      names the file and the keys, before any training step;
    * ``checkpoint=None`` leaves MMDetection's random init (as
      ``init_cfg=None`` does) and warns.

    The checkpoint is loaded after the submodules' own ``init_weights`` (the
    DCN layers reset themselves there), and stages frozen by
    ``frozen_stages`` / BN with ``requires_grad=False`` keep the loaded
    values bit for bit.

    Args:
        init_cfg (dict, optional): ``dict(type='Pretrained',
            checkpoint=PATH)``; any other init config is passed to MMDetection
            unchanged.
        **kwargs: Any ``mmdet.ResNetV1d`` argument (``depth``,
            ``frozen_stages``, ``norm_cfg``, ``norm_eval``, ``dcn``,
            ``stage_with_dcn``, ...).

    Example:
        >>> backbone = dict(
        >>>     type='ssld_mm.SSLDResNetV1d', depth=50, frozen_stages=1,
        >>>     norm_cfg=dict(type='BN', requires_grad=False), norm_eval=True,
        >>>     init_cfg=dict(
        >>>         type='Pretrained',
        >>>         checkpoint='checkpoints/ResNet50_vd_ssld_v2.pth'))
    """

    def __init__(self, init_cfg: Optional[dict] = None, **kwargs) -> None:
        self.pretrained_spec, init_cfg = take_pretrained(init_cfg, 'SSLDResNetV1d')
        super().__init__(init_cfg=init_cfg, **kwargs)
        if self.pretrained_spec.checkpoint is not None:
            # Loaded by init_weights below, after the children (DCN) init.
            self.init_cfg = None

    def init_weights(self) -> None:
        """Children's own init (DCN offsets), then the strict checkpoint load."""
        super().init_weights()
        from ssld_mm.converters.mmdet_resnet import load_mmdet_resnet
        load_pretrained(self, self.pretrained_spec, load_mmdet_resnet)
