"""The PaddleClas architectures the converter knows, and their MM models.

Each arch is named as in PaddleClas (``ResNet50_vd``,
``MobileNetV3_large_x1_0`` ...). :func:`model_cfg` gives the MMPretrain
classifier that computes what the Paddle model computes; the config files
``configs/_base_/models/paddleclas/<arch lower>.py`` hold the same model
dicts (a test keeps them in sync).
"""
import difflib
from dataclasses import dataclass, field
from typing import Dict, Tuple

from mmpretrain.models.utils import make_divisible

RESNET_VD_DEPTHS = {
    18: (2, 2, 2, 2),
    34: (3, 4, 6, 3),
    50: (3, 4, 6, 3),
    101: (3, 4, 23, 3),
    152: (3, 8, 36, 3),
    200: (3, 12, 48, 3),
}
RES2NET_VD_DEPTHS = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 200: (3, 12, 48, 3)}
MOBILENET_V3_SCALES = {'0_35': 0.35, '0_5': 0.5, '0_75': 0.75, '1_0': 1.0, '1_25': 1.25}
MOBILENET_V3_BLOCKS = {'large': 15, 'small': 11}
MOBILENET_V1_SCALES = {'': 1.0, '_x0_25': 0.25, '_x0_5': 0.5, '_x0_75': 0.75}
MOBILENET_V2_SCALES = {
    '': 1.0,
    '_x0_25': 0.25,
    '_x0_5': 0.5,
    '_x0_75': 0.75,
    '_x1_5': 1.5,
    '_x2_0': 2.0
}


@dataclass(frozen=True)
class PaddleArch:
    """One PaddleClas architecture.

    Args:
        name (str): PaddleClas's name, e.g. ``'ResNet50_vd'``.
        family (str): ``'resnet_vd'``, ``'res2net_vd'``, ``'mobilenet_v3'``,
            ``'mobilenet_v2'`` or ``'mobilenet_v1'``.
        params (dict): Family parameters (``depth``; ``size`` and ``scale``).
    """
    name: str
    family: str
    params: Dict = field(default_factory=dict)

    @property
    def config_name(self) -> str:
        """File stem of its configs (``configs/paddleclas/<stem>.py``)."""
        return self.name.lower()

    @property
    def stage_blocks(self) -> Tuple[int, ...]:
        """Blocks per stage of the ResNet-like families."""
        if self.family == 'resnet_vd':
            return RESNET_VD_DEPTHS[self.params['depth']]
        if self.family == 'res2net_vd':
            return RES2NET_VD_DEPTHS[self.params['depth']]
        raise AttributeError(f'{self.name} has no ResNet stages')


def _build_table() -> Dict[str, PaddleArch]:
    table = {}
    for depth in RESNET_VD_DEPTHS:
        name = f'ResNet{depth}_vd'
        table[name] = PaddleArch(name, 'resnet_vd', dict(depth=depth))
    for depth in RES2NET_VD_DEPTHS:
        name = f'Res2Net{depth}_vd_26w_4s'
        table[name] = PaddleArch(name, 'res2net_vd', dict(depth=depth))
    for size in ('large', 'small'):
        for suffix, scale in MOBILENET_V3_SCALES.items():
            name = f'MobileNetV3_{size}_x{suffix}'
            table[name] = PaddleArch(name, 'mobilenet_v3', dict(size=size, scale=scale))
    for suffix, scale in MOBILENET_V2_SCALES.items():
        name = f'MobileNetV2{suffix}'
        table[name] = PaddleArch(name, 'mobilenet_v2', dict(scale=scale))
    for suffix, scale in MOBILENET_V1_SCALES.items():
        name = f'MobileNetV1{suffix}'
        table[name] = PaddleArch(name, 'mobilenet_v1', dict(scale=scale))
    return table


PADDLE_ARCHS: Dict[str, PaddleArch] = _build_table()


def get_arch(name: str) -> PaddleArch:
    """Look an arch up by its PaddleClas name.

    Names of published weights work too: ``ResNet50_vd_ssld``,
    ``ResNet50_vd_ssld_v2``, ``Fix_ResNet50_vd_ssld_v2`` are ``ResNet50_vd``.

    Raises:
        ValueError: For an unknown name, listing the supported ones and the
            closest matches.
    """
    if not isinstance(name, str):
        raise TypeError(f'arch must be a str, got {name!r}')
    key = name[len('Fix_'):] if name.startswith('Fix_') else name
    for suffix in ('_ssld_v2', '_ssld'):
        if key.endswith(suffix):
            key = key[:-len(suffix)]
    if key in PADDLE_ARCHS:
        return PADDLE_ARCHS[key]
    close = difflib.get_close_matches(key, PADDLE_ARCHS, n=3, cutoff=0.6)
    hint = f' Did you mean {" or ".join(close)}?' if close else ''
    raise ValueError(f'unknown PaddleClas arch {name!r}.{hint} Supported: '
                     f'{", ".join(PADDLE_ARCHS)}')


def _linear_head(num_classes: int, in_channels: int) -> dict:
    return dict(
        type='mmpretrain.LinearClsHead',
        num_classes=num_classes,
        in_channels=in_channels,
        loss=dict(type='mmpretrain.CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5))


def model_cfg(arch: PaddleArch, num_classes: int = 1000) -> dict:
    """The MMPretrain ``ImageClassifier`` config equivalent to ``arch``."""
    p = arch.params
    if arch.family == 'resnet_vd':
        depth = p['depth']
        # mmpretrain.ResNetV1d is PaddleClas's ResNet_vd for 50/101/152.
        kind = ('mmpretrain.ResNetV1d' if depth in (50, 101,
                                                    152) else 'ssld_mm.PaddleResNetV1d')
        backbone = dict(
            type=kind, depth=depth, num_stages=4, out_indices=(3, ), style='pytorch')
        head = _linear_head(num_classes, 512 if depth < 50 else 2048)
    elif arch.family == 'res2net_vd':
        backbone = dict(
            type='ssld_mm.PaddleRes2Net',
            depth=p['depth'],
            scales=4,
            base_width=26,
            out_indices=(3, ))
        head = _linear_head(num_classes, 2048)
    elif arch.family == 'mobilenet_v3':
        backbone = dict(
            type='ssld_mm.PaddleMobileNetV3', arch=p['size'], scale=p['scale'])
        last = 960 if p['size'] == 'large' else 576
        head = dict(
            type='ssld_mm.PaddleMobileNetV3Head',
            num_classes=num_classes,
            in_channels=make_divisible(p['scale'] * last, 8),
            mid_channels=1280,
            dropout_rate=0.2,
            loss=dict(type='mmpretrain.CrossEntropyLoss', loss_weight=1.0),
            topk=(1, 5))
    elif arch.family == 'mobilenet_v2':
        scale = p['scale']
        backbone = dict(type='ssld_mm.PaddleMobileNetV2', scale=scale)
        head = _linear_head(num_classes, int(1280 * scale) if scale > 1.0 else 1280)
    elif arch.family == 'mobilenet_v1':
        backbone = dict(type='ssld_mm.MobileNetV1', scale=p['scale'])
        head = _linear_head(num_classes, int(1024 * p['scale']))
    else:  # pragma: no cover - the table only holds the families above
        raise ValueError(f'unknown family {arch.family!r}')
    return dict(
        type='mmpretrain.ImageClassifier',
        backbone=backbone,
        neck=dict(type='mmpretrain.GlobalAveragePooling'),
        head=head)
