"""Helpers shared by the converter tests (no Paddle needed).

``data/<arch>.json`` lists the keys and shapes of PaddleClas models
({paddle key: shape}), written by
``.venv-paddle/bin/python tests/test_converters/paddle_side.py keys --out
tests/test_converters/data <arch> ...`` from paddleclas 2.6.0.

The ``*_to_dygraph`` functions rename current ("legendary") PaddleClas keys
to the PaddleClas 2.0 dygraph names. They are written from the 2.0 model
definitions (``ppcls/modeling/architectures``: ``conv1_1``, ``bb_%d_%d``,
``_conv``/``_batch_norm``, ``out``; MobileNetV3 blocks ``conv2..conv16``;
MobileNetV1 blocks ``conv2_1 .. conv6``), independently of the converter's
own rules, so a test that converts both spellings checks the converter.
"""
import json
import os.path as osp
import pickle
import re
from typing import Dict, Sequence

import numpy as np

HERE = osp.dirname(osp.abspath(__file__))
DATA = osp.join(HERE, 'data')
FIXTURE_ARCHS = [
    'ResNet18_vd', 'ResNet50_vd', 'MobileNetV3_small_x0_35', 'MobileNetV3_large_x1_0',
    'MobileNetV1_x0_25', 'MobileNetV2_x0_25', 'Res2Net50_vd_26w_4s'
]


def paddle_shapes(arch: str) -> Dict[str, list]:
    with open(osp.join(DATA, arch + '.json')) as f:
        return json.load(f)


def random_state(arch: str, seed: int = 0) -> Dict[str, np.ndarray]:
    """Random float32 arrays with the keys/shapes of PaddleClas's ``arch``
    (BN variances positive)."""
    rng = np.random.default_rng(seed)
    state = {}
    for key, shape in paddle_shapes(arch).items():
        value = rng.normal(0.0, 0.1, shape)
        if key.endswith('_variance'):
            value = rng.uniform(0.5, 2.0, shape)
        state[key] = value.astype(np.float32)
    return state


def save_pdparams(state: Dict[str, np.ndarray], path: str) -> str:
    """Write ``state`` as ``paddle.save`` does: a pickle of arrays plus the
    structured-name table."""
    obj = dict(state)
    obj['StructuredToParameterName@@'] = {k: f'param_{i}' for i, k in enumerate(state)}
    with open(path, 'wb') as f:
        pickle.dump(obj, f, protocol=4)
    return path


def _resnet_vd_to_dygraph(key: str, stage_blocks: Sequence[int]) -> str:
    m = re.fullmatch(r'stem\.(\d)\.(conv|bn)\.(.+)', key)
    if m:
        layer = '_conv' if m.group(2) == 'conv' else '_batch_norm'
        return f'conv1_{int(m.group(1)) + 1}.{layer}.{m.group(3)}'
    m = re.fullmatch(r'blocks\.(\d+)\.(\w+)\.(conv|bn)\.(.+)', key)
    if m:
        n = int(m.group(1))
        stage = 0
        while n >= stage_blocks[stage]:
            n -= stage_blocks[stage]
            stage += 1
        layer = '_conv' if m.group(3) == 'conv' else '_batch_norm'
        return f'bb_{stage}_{n}.{m.group(2)}.{layer}.{m.group(4)}'
    return re.sub(r'^fc\.', 'out.', key)


def _mobilenet_v3_to_dygraph(key: str) -> str:
    if key.startswith('conv.'):
        return 'conv1.' + key[len('conv.'):]
    m = re.fullmatch(r'blocks\.(\d+)\.(.+)', key)
    if m:
        return f'conv{int(m.group(1)) + 2}.{m.group(2)}'
    return re.sub(r'^fc\.', 'out.', key)


_V1_NAMES = [
    'conv2_1', 'conv2_2', 'conv3_1', 'conv3_2', 'conv4_1', 'conv4_2', 'conv5_1',
    'conv5_2', 'conv5_3', 'conv5_4', 'conv5_5', 'conv5_6', 'conv6'
]


def _mobilenet_v1_to_dygraph(key: str) -> str:
    key = re.sub(r'\.conv\.weight$', '._conv.weight', key)
    key = re.sub(r'\.bn\.', '._batch_norm.', key)
    if key.startswith('conv.'):
        return 'conv1.' + key[len('conv.'):]
    m = re.fullmatch(r'blocks\.(\d+)\.(depthwise|pointwise)_conv\.(.+)', key)
    if m:
        return f'{_V1_NAMES[int(m.group(1))]}._{m.group(2)}_conv.{m.group(3)}'
    return re.sub(r'^fc\.', 'out.', key)


STAGES = {
    'ResNet18_vd': (2, 2, 2, 2),
    'ResNet34_vd': (3, 4, 6, 3),
    'ResNet50_vd': (3, 4, 6, 3),
    'ResNet101_vd': (3, 4, 23, 3)
}


def to_dygraph(arch: str, state: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
    """Rename a legendary PaddleClas state dict to PaddleClas 2.0 names."""
    if arch.startswith('ResNet'):
        rename = lambda k: _resnet_vd_to_dygraph(k, STAGES[arch])  # noqa: E731
    elif arch.startswith('MobileNetV3'):
        rename = _mobilenet_v3_to_dygraph
    elif arch.startswith('MobileNetV1'):
        rename = _mobilenet_v1_to_dygraph
    else:
        raise ValueError(f'{arch} has one naming only')
    renamed = {rename(k): v for k, v in state.items()}
    assert len(renamed) == len(state)
    return renamed
