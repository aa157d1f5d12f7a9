"""Read PaddlePaddle ``.pdparams`` files without Paddle.

A ``.pdparams`` written by ``paddle.save(layer.state_dict(), path)`` is a
pickle of ``{structured name: numpy.ndarray}`` plus a
``'StructuredToParameterName@@'`` table (structured name -> Paddle's internal
parameter name). Objects saved by ``paddle.save`` outside a state dict store
tensors as ``(name, ndarray)`` tuples; both forms are accepted.

The file is unpickled with a restricted unpickler that only builds NumPy
arrays, dtypes and plain containers, so a malicious file cannot run code.
"""
import collections
import os.path as osp
import pickle
from typing import Dict, Optional

import numpy as np

NAME_TABLE_KEY = 'StructuredToParameterName@@'

# (module, name) pairs a .pdparams pickle legitimately references.
_ALLOWED = {
    ('numpy', 'ndarray'),
    ('numpy', 'dtype'),
    ('numpy.core.multiarray', '_reconstruct'),
    ('numpy._core.multiarray', '_reconstruct'),
    ('numpy.core.multiarray', 'scalar'),
    ('numpy._core.multiarray', 'scalar'),
    ('numpy.core.numeric', '_frombuffer'),
    ('numpy._core.numeric', '_frombuffer'),
    ('collections', 'OrderedDict'),
    ('_codecs', 'encode'),  # bytes in protocol-2 pickles
    ('builtins', 'tuple'),
    ('builtins', 'list'),
    ('builtins', 'dict'),
}


class _RestrictedUnpickler(pickle.Unpickler):

    def find_class(self, module: str, name: str):
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(
            f'refusing to load {module}.{name}: a .pdparams file only holds '
            'NumPy arrays')


def load_pdparams(
        path: str,
        prefix: Optional[str] = None) -> 'collections.OrderedDict[str, np.ndarray]':
    """Load the arrays of a Paddle ``.pdparams`` state dict.

    Args:
        path (str): The ``.pdparams`` file.
        prefix (str, optional): Keep only keys starting with ``prefix`` and
            strip it, e.g. ``'Student.'`` for a PaddleClas distillation
            checkpoint. Defaults to None (all keys).

    Returns:
        OrderedDict[str, np.ndarray]: Structured names -> arrays, in file
        order, without the parameter-name table.

    Raises:
        FileNotFoundError: If ``path`` is not a file.
        ValueError: If the file is not a pickled dict of arrays, or no key
            has ``prefix``.

    Example:
        >>> state = load_pdparams('ResNet50_vd_ssld_pretrained.pdparams')
        >>> state['fc.weight'].shape  # Paddle Linear: [in, out]
        (2048, 1000)
    """
    path = osp.expanduser(str(path))
    if not osp.isfile(path):
        raise FileNotFoundError(f'Paddle weights file {path!r} does not exist')
    try:
        with open(path, 'rb') as f:
            obj = _RestrictedUnpickler(f).load()
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, IndexError,
            TypeError, ValueError) as e:
        raise ValueError(f'{path!r} is not a Paddle .pdparams state dict '
                         f'(pickle of arrays): {e}') from e
    if not isinstance(obj, dict):
        raise ValueError(f'{path!r} holds a {type(obj).__name__}, not a state '
                         'dict')
    state = collections.OrderedDict()
    for key, value in obj.items():
        if key == NAME_TABLE_KEY:
            continue
        if (isinstance(value, tuple) and len(value) == 2
                and isinstance(value[1], np.ndarray)):
            value = value[1]  # (parameter name, array)
        if not isinstance(value, np.ndarray):
            raise ValueError(f'{path!r}: entry {key!r} is a '
                             f'{type(value).__name__}, not an array')
        state[str(key)] = value
    if prefix:
        state = collections.OrderedDict(
            (k[len(prefix):], v) for k, v in state.items() if k.startswith(prefix))
        if not state:
            raise ValueError(f'{path!r}: no key starts with {prefix!r}; top-level '
                             f'names found: {sorted(top_level_names(obj))}')
    return state


def top_level_names(state: Dict[str, object]) -> set:
    """First dotted component of every key (to report prefixes)."""
    return {k.split('.', 1)[0] for k in state if k != NAME_TABLE_KEY}
