"""Convert PaddleClas ``.pdparams`` weights to MMPretrain / MMDetection.

The converter knows the target model: it builds the MM model of the arch
(:func:`ssld_mm.converters.paddle_archs.model_cfg`) and checks every tensor
against it. Every Paddle tensor must map to a parameter or buffer of that
model with the same shape, and every parameter/buffer must be covered (BN
``num_batches_tracked`` counters, which Paddle has no equivalent of, are set
to 0). Anything else is a
:class:`PaddleConversionError` naming the key and the expected and found
shapes, raised before anything is written.
"""
import collections
import os.path as osp
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch

from ssld_mm.utils.fileio import atomic_open
from .paddle_archs import PADDLE_ARCHS, PaddleArch, get_arch, model_cfg
from .paddle_keys import SIGNATURES, detect_naming, map_key, mmpretrain_to_mmdet_resnet
from .pdparams import load_pdparams, top_level_names

FORMATS = ('mmpretrain', 'mmdet')
_MAX_LISTED = 12


class PaddleConversionError(ValueError):
    """A Paddle state dict does not fit the requested architecture."""


def _register_modules() -> None:
    import mmpretrain.models  # noqa: F401

    import ssld_mm.models  # noqa: F401
    import ssld_mm.models.heads  # noqa: F401


def expected_state(arch: PaddleArch,
                   fmt: str = 'mmpretrain',
                   num_classes: int = 1000) -> Dict[str, Tuple[tuple, torch.dtype]]:
    """Key -> (shape, dtype) of the target model's state dict.

    ``fmt='mmpretrain'``: the whole ``ImageClassifier`` of
    :func:`model_cfg` (keys ``backbone.*``, ``head.*``); ``fmt='mmdet'``:
    MMDetection's ``ResNetV1d`` backbone (backbone-relative keys).
    """
    from mmengine.registry import DefaultScope
    _register_modules()
    with DefaultScope.overwrite_default_scope('ssld_mm'):
        if fmt == 'mmpretrain':
            from ssld_mm.registry import MODELS
            model = MODELS.build(model_cfg(arch, num_classes))
        else:
            from mmdet.models.backbones import ResNetV1d
            model = ResNetV1d(depth=arch.params['depth'])
    return {k: (tuple(v.shape), v.dtype) for k, v in model.state_dict().items()}


def _transform(array: np.ndarray, transform: Optional[str]) -> np.ndarray:
    if transform == 'linear' and array.ndim == 2:
        return array.T
    if transform == 'conv1x1_to_linear' and array.ndim == 4 \
            and array.shape[2:] == (1, 1):
        return array[:, :, 0, 0]
    return array


def _listing(items: List[str]) -> str:
    shown = items[:_MAX_LISTED]
    more = len(items) - len(shown)
    return '\n  ' + '\n  '.join(shown) + (f'\n  ... and {more} more' if more else '')


def _fits(state: Dict[str, np.ndarray], spec: PaddleArch, num_classes: int) -> bool:
    """Whether every tensor maps with the right shape and all are covered."""
    naming = detect_naming(spec, state.keys())
    if naming is None:
        return False
    expected = expected_state(spec, 'mmpretrain', num_classes)
    covered = set()
    for key, array in state.items():
        _, mapped = map_key(spec, naming, key)
        if mapped is None or mapped[0] not in expected:
            return False
        value = _transform(np.asarray(array), mapped[1])
        if tuple(value.shape) != expected[mapped[0]][0]:
            return False
        covered.add(mapped[0])
    return all(k in covered or k.endswith('num_batches_tracked') for k in expected)


def _fitting_archs(state: Dict[str, np.ndarray], spec: PaddleArch,
                   num_classes: int) -> List[str]:
    """Other archs of the same family the weights fit (for error hints)."""
    return [
        other.name for other in PADDLE_ARCHS.values() if other.family == spec.family
        and other.name != spec.name and _fits(state, other, num_classes)
    ]


def convert_paddle_state(
    state: Dict[str, np.ndarray],
    arch: str,
    fmt: str = 'mmpretrain',
    num_classes: Optional[int] = None
) -> Tuple['collections.OrderedDict[str, torch.Tensor]', dict]:
    """Convert a Paddle state dict (numpy arrays) of a PaddleClas arch.

    Args:
        state (dict[str, np.ndarray]): Paddle structured names -> arrays
            (see :func:`load_pdparams`).
        arch (str): PaddleClas arch name, e.g. ``'ResNet50_vd'``
            (``_ssld`` suffixes allowed).
        fmt (str): ``'mmpretrain'`` (an ``ImageClassifier`` state dict,
            loads strictly into ``configs/paddleclas/<arch>.py``) or
            ``'mmdet'`` (backbone-only state dict of MMDetection's
            ``ResNetV1d``; ResNet50/101/152_vd only). Defaults to
            ``'mmpretrain'``.
        num_classes (int, optional): Classes of the fc layer. Defaults to
            None: taken from the Paddle fc (1000 for ImageNet weights).

    Returns:
        tuple: (state dict of torch tensors, info dict with ``arch``,
        ``naming``, ``format``, ``num_classes``, ``dropped`` (Paddle keys not
        written, the fc for ``mmdet``)).

    Raises:
        ValueError: Unknown arch or format.
        PaddleConversionError: Keys or shapes that do not fit ``arch``.
    """
    spec = get_arch(arch)
    _check_format(spec, fmt)
    naming = _detect_naming(spec, state)
    if num_classes is None:
        fc = state.get('fc.weight', state.get('out.weight'))
        num_classes = int(fc.shape[-1]) if fc is not None and fc.ndim == 2 \
            else 1000
    mm_expected = expected_state(spec, 'mmpretrain', num_classes)
    converted, problems = _convert_tensors(spec, naming, state, mm_expected)
    if problems:
        fits = _fitting_archs(state, spec, num_classes)
        hint = (f' They fit {" / ".join(fits)}: is --arch right?' if fits else '')
        raise PaddleConversionError(
            f'the weights do not fit PaddleClas {spec.name} (num_classes='
            f'{num_classes}); nothing was converted.{hint}\n' + '\n'.join(problems))
    # Keep the model's order (nicer to read, same as a saved MM checkpoint).
    ordered = collections.OrderedDict((k, converted[k]) for k in mm_expected)
    dropped = []
    if fmt == 'mmdet':
        ordered, dropped = _to_mmdet_layout(spec, ordered)
    info = dict(
        arch=spec.name,
        naming=naming,
        format=fmt,
        num_classes=num_classes,
        dropped=dropped)
    return ordered, info


def _check_format(spec: PaddleArch, fmt: str) -> None:
    """Raise unless ``fmt`` is known and can hold ``spec``."""
    if fmt not in FORMATS:
        raise ValueError(f'format must be one of {FORMATS}, got {fmt!r}')
    if fmt != 'mmdet':
        return
    if spec.family != 'resnet_vd':
        raise ValueError(
            f'--format mmdet writes MMDetection ResNetV1d checkpoints; '
            f'{spec.name} is not a ResNet_vd. Use the mmpretrain format and '
            f"the backbone of configs/_base_/models/paddleclas/"
            f"{spec.config_name}.py in the detector (init_cfg="
            f"dict(type='Pretrained', checkpoint=..., prefix='backbone.')).")
    if spec.params['depth'] not in (50, 101, 152):
        raise ValueError(
            f"--format mmdet: {spec.name} cannot be written in MMDetection "
            "ResNetV1d's layout: " +
            ('PaddleClas gives layer1.0 a 1x1 projection shortcut that '
             "MMDetection's BasicBlock ResNetV1d lacks" if spec.params['depth'] <
             50 else "MMDetection's ResNet has no depth 200") +
            '. Use the mmpretrain format with the backbone '
            "'ssld_mm.PaddleResNetV1d' and init_cfg=dict(type='Pretrained',"
            " checkpoint=..., prefix='backbone.').")


def _detect_naming(spec: PaddleArch, state: Dict[str, np.ndarray]) -> str:
    """The PaddleClas naming generation of ``state``, or an error that says
    what was found instead."""
    naming = detect_naming(spec, state.keys())
    if naming is not None:
        return naming
    examples = ', '.join(repr(s) for s in SIGNATURES[spec.family].values())
    prefixes = sorted(top_level_names(state))
    hint = ''
    if {'Student', 'Teacher'} & set(prefixes):
        hint = (' It looks like a PaddleClas distillation checkpoint: pass '
                "--src-prefix Student. (or Teacher.).")
    raise PaddleConversionError(
        f'the weights do not look like PaddleClas {spec.name}: none of the '
        f'keys {examples} is present. Top-level names found: '
        f'{prefixes[:_MAX_LISTED]}.{hint}')


def _convert_tensors(spec: PaddleArch, naming: str, state: Dict[str, np.ndarray],
                     mm_expected: dict) -> Tuple[dict, List[str]]:
    """Map and transform every tensor; return the converted ones and the
    problems found (wrong shapes, tensors without a place, missing ones)."""
    converted = collections.OrderedDict()
    unexpected, bad_shape, sources = [], [], {}
    for key, array in state.items():
        canonical, mapped = map_key(spec, naming, key)
        if mapped is None or mapped[0] not in mm_expected:
            unexpected.append(f'{key!r} {tuple(array.shape)}')
            continue
        mm_key, transform = mapped
        if mm_key in sources:
            unexpected.append(f'{key!r}: maps to {mm_key!r} like '
                              f'{sources[mm_key]!r}')
            continue
        sources[mm_key] = key
        value = _transform(np.asarray(array), transform)
        shape, dtype = mm_expected[mm_key]
        if tuple(value.shape) != shape:
            expected = shape
            if transform == 'linear':
                expected = shape[::-1]
            elif transform == 'conv1x1_to_linear':
                expected = shape + (1, 1)
            bad_shape.append(f'{key!r} (-> {mm_key!r}): expected shape '
                             f'{tuple(expected)}, found {tuple(array.shape)}')
            continue
        converted[mm_key] = torch.from_numpy(np.ascontiguousarray(value)).to(dtype)

    missing = []
    for mm_key, (shape, dtype) in mm_expected.items():
        if mm_key in sources:  # converted, or reported with a wrong shape
            continue
        if mm_key.endswith('num_batches_tracked'):
            converted[mm_key] = torch.zeros(shape, dtype=dtype)
        else:
            missing.append(f'{mm_key!r} {shape}')

    problems = []
    if bad_shape:
        problems.append(f'{len(bad_shape)} tensor(s) with the wrong shape:' +
                        _listing(bad_shape))
    if unexpected:
        problems.append(f'{len(unexpected)} tensor(s) that {spec.name} '
                        f'({naming} names) has no place for:' + _listing(unexpected))
    if missing:
        problems.append(f'{len(missing)} {spec.name} tensor(s) not in the file:' +
                        _listing(missing))
    return converted, problems


def _to_mmdet_layout(spec: PaddleArch, ordered: dict) -> Tuple[dict, List[str]]:
    """An MMPretrain ResNetV1d state dict in MMDetection's backbone layout;
    also returns the keys left out (the classifier)."""
    det_expected = expected_state(spec, 'mmdet')
    det, dropped = collections.OrderedDict(), []
    for key, value in ordered.items():
        det_key = mmpretrain_to_mmdet_resnet(key)
        if det_key is None:
            dropped.append(key)
            continue
        det[det_key] = value
    if set(det) != set(det_expected) or any(
            tuple(det[k].shape) != det_expected[k][0] for k in det):
        raise PaddleConversionError(  # pragma: no cover - layout changed
            'internal error: the MMDetection ResNetV1d layout does not '
            f'match (missing {sorted(set(det_expected) - set(det))[:5]}, '
            f'extra {sorted(set(det) - set(det_expected))[:5]})')
    return collections.OrderedDict((k, det[k]) for k in det_expected), dropped


def convert_pdparams(src: str,
                     dst: str,
                     arch: str,
                     fmt: str = 'mmpretrain',
                     src_prefix: Optional[str] = None,
                     num_classes: Optional[int] = None) -> dict:
    """Convert a PaddleClas ``.pdparams`` file and save an MM checkpoint.

    The output is ``{'state_dict': ..., 'meta': {...}}`` where ``meta`` names
    the source file, the arch, the naming generation found, the format and
    the config it loads into. Nothing is written if the conversion fails; the
    file appears atomically (written to a temporary file, then renamed).

    Args:
        src (str): The ``.pdparams`` file.
        dst (str): Output ``.pth`` path (parent folders are created).
        arch (str): PaddleClas arch name, e.g. ``'MobileNetV3_large_x1_0'``.
        fmt (str): ``'mmpretrain'`` or ``'mmdet'``. Defaults to
            ``'mmpretrain'``.
        src_prefix (str, optional): Take only keys with this prefix (and
            strip it), e.g. ``'Student.'`` for a PaddleClas distillation
            checkpoint. Defaults to None.
        num_classes (int, optional): See :func:`convert_paddle_state`.

    Returns:
        dict: The checkpoint that was saved.

    Example:
        >>> convert_pdparams('ResNet50_vd_ssld_pretrained.pdparams',
        ...                  'checkpoints/resnet50_vd_ssld.pth', 'ResNet50_vd')
    """
    import ssld_mm
    state = load_pdparams(src, prefix=src_prefix)
    state_dict, info = convert_paddle_state(state, arch, fmt, num_classes)
    spec = get_arch(info['arch'])
    meta = dict(
        source='PaddleClas',
        src=osp.abspath(src),
        src_prefix=src_prefix,
        arch=info['arch'],
        naming=info['naming'],
        format=fmt,
        num_classes=info['num_classes'],
        converter=f'ssld_mm {ssld_mm.__version__} '
        'tools/model_converters/paddle_to_mm.py')
    if fmt == 'mmpretrain':
        meta['config'] = f'configs/paddleclas/{spec.config_name}.py'
    else:
        meta['mmdet_backbone'] = dict(type='ResNetV1d', depth=spec.params['depth'])
    checkpoint = dict(state_dict=state_dict, meta=meta)
    with atomic_open(osp.abspath(osp.expanduser(dst)), 'wb') as f:
        torch.save(checkpoint, f)
    return checkpoint
