"""Paddle key names -> MMPretrain key names, per PaddleClas family.

PaddleClas has used two naming generations for the same networks:

* ``legendary`` (PaddleClas >= 2.2, ``ppcls/arch/backbone/legendary_models``):
  ``stem.0.conv.weight``, ``blocks.3.conv1.bn._mean``, ``fc.weight`` ...
* ``dygraph`` (PaddleClas 2.0/2.1, ``ppcls/modeling/architectures``, and the
  ``model_zoo`` files that were never rewritten, e.g. MobileNetV2 and
  Res2Net_vd): ``conv1_1._conv.weight``, ``bb_0_0.conv0._batch_norm.weight``,
  ``out.weight`` ...

A file's generation is detected from its keys. Old names are first rewritten
to the legendary ones (where a legendary model exists), then mapped to the
MMPretrain layout. A mapping returns ``(mm_key, transform)`` where
``transform`` is ``None``, ``'linear'`` (Paddle ``Linear.weight`` is
``[in, out]``: transpose) or ``'conv1x1_to_linear'`` (``[out, in, 1, 1]`` ->
``[out, in]``), or ``None`` for a key that has no place in the model.
"""
import re
from typing import Iterable, Optional, Tuple

from .paddle_archs import MOBILENET_V3_BLOCKS, PaddleArch

Mapped = Optional[Tuple[str, Optional[str]]]

BN = {
    'weight': 'weight',
    'bias': 'bias',
    '_mean': 'running_mean',
    '_variance': 'running_var'
}
_BN = r'(weight|bias|_mean|_variance)'

# PaddleClas 2.0 MobileNetV1 block names, in forward order.
_MOBILENET_V1_BLOCKS = [
    'conv2_1', 'conv2_2', 'conv3_1', 'conv3_2', 'conv4_1', 'conv4_2', 'conv5_1',
    'conv5_2', 'conv5_3', 'conv5_4', 'conv5_5', 'conv5_6', 'conv6'
]

# Example keys of each naming generation, for detection and error messages.
SIGNATURES = {
    'resnet_vd': {
        'legendary': 'stem.0.conv.weight',
        'dygraph': 'conv1_1._conv.weight'
    },
    'mobilenet_v3': {
        'legendary': 'conv.conv.weight',
        'dygraph': 'conv1.conv.weight'
    },
    'mobilenet_v1': {
        'legendary': 'conv.conv.weight',
        'dygraph': 'conv1._conv.weight'
    },
    'mobilenet_v2': {
        'dygraph': 'conv1._conv.weight'
    },
    'res2net_vd': {
        'dygraph': 'conv1_1._conv.weight'
    },
}


def detect_naming(arch: PaddleArch, keys: Iterable[str]) -> Optional[str]:
    """``'legendary'`` or ``'dygraph'``, or None if neither signature key of
    ``arch``'s family is present."""
    keys = set(keys)
    for naming, signature in SIGNATURES[arch.family].items():
        if signature in keys:
            return naming
    return None


def _block_position(arch: PaddleArch, n: int) -> Optional[Tuple[int, int]]:
    """Flat block index -> (stage, index in stage)."""
    for stage, count in enumerate(arch.stage_blocks):
        if n < count:
            return stage, n
        n -= count
    return None


def _flat_block(arch: PaddleArch, stage: int, i: int) -> Optional[int]:
    blocks = arch.stage_blocks
    if stage >= len(blocks) or i >= blocks[stage]:
        return None
    return sum(blocks[:stage]) + i


# ----------------------------------------------------------- dygraph -> legendary
def _resnet_vd_to_legendary(arch: PaddleArch, key: str) -> Optional[str]:
    m = re.fullmatch(r'conv1_([123])\._(conv|batch_norm)\.(.+)', key)
    if m:
        layer = 'conv' if m.group(2) == 'conv' else 'bn'
        return f'stem.{int(m.group(1)) - 1}.{layer}.{m.group(3)}'
    m = re.fullmatch(r'bb_(\d+)_(\d+)\.(conv[012]|short)\._(conv|batch_norm)\.(.+)',
                     key)
    if m:
        n = _flat_block(arch, int(m.group(1)), int(m.group(2)))
        if n is None:
            return None
        layer = 'conv' if m.group(4) == 'conv' else 'bn'
        return f'blocks.{n}.{m.group(3)}.{layer}.{m.group(5)}'
    m = re.fullmatch(r'out\.(weight|bias)', key)
    return f'fc.{m.group(1)}' if m else None


def _mobilenet_v3_to_legendary(arch: PaddleArch, key: str) -> Optional[str]:
    m = re.fullmatch(r'conv(\d+)\.(.+)', key)
    if m:
        k = int(m.group(1))
        return f'conv.{m.group(2)}' if k == 1 else f'blocks.{k - 2}.{m.group(2)}'
    m = re.fullmatch(r'out\.(weight|bias)', key)
    if m:
        return f'fc.{m.group(1)}'
    if key.startswith(('last_second_conv.', 'last_conv.')):
        return key
    return None


def _mobilenet_v1_to_legendary(arch: PaddleArch, key: str) -> Optional[str]:
    m = re.fullmatch(r'conv1\._(conv|batch_norm)\.(.+)', key)
    if m:
        return f'conv.{"conv" if m.group(1) == "conv" else "bn"}.{m.group(2)}'
    m = re.fullmatch(
        r'(conv\d_\d|conv6)\._(depthwise|pointwise)_conv\.'
        r'_(conv|batch_norm)\.(.+)', key)
    if m and m.group(1) in _MOBILENET_V1_BLOCKS:
        n = _MOBILENET_V1_BLOCKS.index(m.group(1))
        layer = 'conv' if m.group(3) == 'conv' else 'bn'
        return f'blocks.{n}.{m.group(2)}_conv.{layer}.{m.group(4)}'
    m = re.fullmatch(r'out\.(weight|bias)', key)
    return f'fc.{m.group(1)}' if m else None


TO_LEGENDARY = {
    'resnet_vd': _resnet_vd_to_legendary,
    'mobilenet_v3': _mobilenet_v3_to_legendary,
    'mobilenet_v1': _mobilenet_v1_to_legendary,
}


# --------------------------------------------------------- Paddle -> MMPretrain
def _conv_bn(prefix: str, layer: str, rest: str) -> Mapped:
    """``<layer>.weight`` of a conv or ``<bn>.<param>``, under ``prefix``."""
    if layer == 'conv':
        return (f'{prefix}.conv.weight', None) if rest == 'weight' else None
    return (f'{prefix}.bn.{BN[rest]}', None) if rest in BN else None


def _fc(key: str, head: str = 'head.fc') -> Mapped:
    m = re.fullmatch(r'fc\.(weight|bias)', key)
    if not m:
        return None
    return (f'{head}.{m.group(1)}', 'linear' if m.group(1) == 'weight' else None)


def _resnet_vd(arch: PaddleArch, key: str) -> Mapped:
    m = re.fullmatch(r'stem\.([012])\.(conv|bn)\.(\w+)', key)
    if m:
        return _conv_bn(f'backbone.stem.{m.group(1)}', m.group(2), m.group(3))
    m = re.fullmatch(r'blocks\.(\d+)\.(conv[012]|short)\.(conv|bn)\.(\w+)', key)
    if m:
        pos = _block_position(arch, int(m.group(1)))
        if pos is None:
            return None
        stage, i = pos
        block = f'backbone.layer{stage + 1}.{i}'
        if m.group(2) == 'short':
            # stride-1 projection: [conv, bn]; avg-down: [pool, conv, bn]
            first = 0 if stage == 0 else 1
            idx = first if m.group(3) == 'conv' else first + 1
            if m.group(3) == 'conv':
                return ((f'{block}.downsample.{idx}.weight',
                         None) if m.group(4) == 'weight' else None)
            return ((f'{block}.downsample.{idx}.{BN[m.group(4)]}',
                     None) if m.group(4) in BN else None)
        c = int(m.group(2)[-1]) + 1
        if arch.params['depth'] < 50 and c == 3:
            return None  # BasicBlock has conv0/conv1 only
        if m.group(3) == 'conv':
            return ((f'{block}.conv{c}.weight',
                     None) if m.group(4) == 'weight' else None)
        return ((f'{block}.bn{c}.{BN[m.group(4)]}', None) if m.group(4) in BN else None)
    return _fc(key)


def _res2net_vd(arch: PaddleArch, key: str) -> Mapped:
    m = re.fullmatch(r'conv1_([123])\._(conv|batch_norm)\.(\w+)', key)
    if m:
        layer = 'conv' if m.group(2) == 'conv' else 'bn'
        return _conv_bn(f'backbone.stem.{int(m.group(1)) - 1}', layer, m.group(3))
    m = re.fullmatch(r'bb_(\d+)_(\d+)\.(\w+?)\._(conv|batch_norm)\.(\w+)', key)
    if m:
        stage, i = int(m.group(1)), int(m.group(2))
        if _flat_block(arch, stage, i) is None:
            return None
        block = f'backbone.layer{stage + 1}.{i}'
        name, is_conv, rest = m.group(3), m.group(4) == 'conv', m.group(5)
        split = re.fullmatch(r'res\w+_branch2b_(\d+)', name)
        if split:
            s = int(split.group(1)) - 1
            if not 0 <= s < 3:  # 26w_4s: 3 split convs
                return None
            conv, bn = f'{block}.convs.{s}', f'{block}.bns.{s}'
        elif name in ('conv0', 'conv2'):
            c = 1 if name == 'conv0' else 3
            conv, bn = f'{block}.conv{c}', f'{block}.bn{c}'
        elif name == 'short':
            conv, bn = f'{block}.downsample.1', f'{block}.downsample.2'
        else:
            return None
        if is_conv:
            return (f'{conv}.weight', None) if rest == 'weight' else None
        return (f'{bn}.{BN[rest]}', None) if rest in BN else None
    m = re.fullmatch(r'out\.(weight|bias)', key)
    return _fc(f'fc.{m.group(1)}') if m else None


def _stem_or_block(key: str, modules: str, num_blocks: int) -> Mapped:
    """The PaddleClas 2.x mobile-network layout, shared by MobileNetV1/V3:
    ``conv.{conv,bn}.*`` is the stem, ``blocks.I.<module>.{conv,bn}.*``
    (``module`` matching the regex ``modules``, ``I < num_blocks``) is
    ``backbone.blocks.I.<module>``."""
    m = re.fullmatch(r'conv\.(conv|bn)\.(\w+)', key)
    if m:
        return _conv_bn('backbone.stem', m.group(1), m.group(2))
    m = re.fullmatch(rf'blocks\.(\d+)\.({modules})\.(conv|bn)\.(\w+)', key)
    if m and int(m.group(1)) < num_blocks:
        return _conv_bn(f'backbone.blocks.{m.group(1)}.{m.group(2)}', m.group(3),
                        m.group(4))
    return None


def _mobilenet_v3(arch: PaddleArch, key: str) -> Mapped:
    mapped = _stem_or_block(key, 'expand_conv|bottleneck_conv|linear_conv',
                            MOBILENET_V3_BLOCKS[arch.params['size']])
    if mapped:
        return mapped
    m = re.fullmatch(r'blocks\.(\d+)\.mid_se\.(conv[12])\.(weight|bias)', key)
    if m:
        return f'backbone.{key}', None
    m = re.fullmatch(r'last_second_conv\.(conv|bn)\.(\w+)', key)
    if m:
        return _conv_bn('backbone.last_second_conv', m.group(1), m.group(2))
    if key == 'last_conv.weight':
        return 'head.last_conv.weight', 'conv1x1_to_linear'
    return _fc(key)


def _mobilenet_v2(arch: PaddleArch, key: str) -> Mapped:
    m = re.fullmatch(r'(conv1|conv9)\._(conv|batch_norm)\.(\w+)', key)
    if m:
        prefix = 'backbone.stem' if m.group(1) == 'conv1' else \
            'backbone.final_conv'
        return _conv_bn(prefix, 'conv' if m.group(2) == 'conv' else 'bn', m.group(3))
    m = re.fullmatch(
        r'conv([2-8])\.(_first_block|conv\d_(\d+))\._(expand|'
        r'bottleneck|linear)_conv\._(conv|batch_norm)\.(\w+)', key)
    if m:
        stage = int(m.group(1)) - 2
        if m.group(2) == '_first_block':
            j = 0
        else:
            if not m.group(2).startswith(f'conv{m.group(1)}_'):
                return None
            j = int(m.group(3)) - 1
            if j < 1:
                return None
        return _conv_bn(f'backbone.stages.{stage}.{j}.{m.group(4)}_conv',
                        'conv' if m.group(5) == 'conv' else 'bn', m.group(6))
    m = re.fullmatch(r'out\.(weight|bias)', key)
    return _fc(f'fc.{m.group(1)}') if m else None


def _mobilenet_v1(arch: PaddleArch, key: str) -> Mapped:
    return _stem_or_block(key, 'depthwise_conv|pointwise_conv',
                          len(_MOBILENET_V1_BLOCKS)) or _fc(key)


TO_MMPRETRAIN = {
    'resnet_vd': _resnet_vd,
    'res2net_vd': _res2net_vd,
    'mobilenet_v3': _mobilenet_v3,
    'mobilenet_v2': _mobilenet_v2,
    'mobilenet_v1': _mobilenet_v1,
}


def map_key(arch: PaddleArch, naming: str, key: str) -> Tuple[Optional[str], Mapped]:
    """Map one Paddle key: returns ``(legendary name or None, mapping)``.

    The mapping is ``(mm_key, transform)`` or None when the key does not
    belong to ``arch`` in that naming generation.
    """
    if naming == 'dygraph' and arch.family in TO_LEGENDARY:
        canonical = TO_LEGENDARY[arch.family](arch, key)
        if canonical is None:
            return None, None
    else:
        canonical = key
    return canonical, TO_MMPRETRAIN[arch.family](arch, canonical)


# ------------------------------------------------- MMPretrain -> MMDetection
def mmpretrain_to_mmdet_resnet(key: str) -> Optional[str]:
    """A ``backbone.*`` key of ``mmpretrain.ResNetV1d`` -> the same tensor in
    ``mmdet.ResNetV1d`` (backbone-relative, no prefix); None for head keys.

    MMDetection's deep stem is a flat ``Sequential`` (conv, bn, relu) x 3,
    and its average-down projection always starts with a (kernel 1) pool,
    also in ``layer1``.
    """
    if not key.startswith('backbone.'):
        return None
    key = key[len('backbone.'):]
    m = re.fullmatch(r'stem\.([012])\.(conv|bn)\.(.+)', key)
    if m:
        idx = 3 * int(m.group(1)) + (0 if m.group(2) == 'conv' else 1)
        return f'stem.{idx}.{m.group(3)}'
    m = re.fullmatch(r'layer1\.0\.downsample\.([01])\.(.+)', key)
    if m:
        return f'layer1.0.downsample.{int(m.group(1)) + 1}.{m.group(2)}'
    return key
