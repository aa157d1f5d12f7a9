"""Per-stage learning rates for fine-tuning (PaddleClas's ``lr_mult_list``).

PaddleClas and PaddleDetection fine-tune SSLD backbones with one learning-rate
multiplier per backbone stage: ``lr_mult_list=[m0, m1, m2, m3, m4]``. This
module brings the same setting to any MMEngine optimizer through
``paramwise_cfg``. A backbone names its five stage groups itself (a
``stage_groups()`` method, as ssld_mm's backbones have); a short table covers
the upstream ones (ResNet family, MobileNetV2/V3), and explicit
``stage_patterns`` any other backbone.
"""
import logging
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch.nn as nn
from mmengine.logging import print_log
from mmengine.optim import DefaultOptimWrapperConstructor

from ssld_mm.models.backbones.paddle_mobilenet_v3 import mobilenet_v3_stage_groups
from ssld_mm.registry import OPTIM_WRAPPER_CONSTRUCTORS
from ssld_mm.utils.module_path import match_module_path

#: Number of multipliers of the automatic grouping (stem + 4 stages).
NUM_AUTO_GROUPS = 5
#: Group index of DCN offset convs inside the backbone (multiplier 1.0).
DCN_OFFSET_GROUP = -2

#: Backbones whose groups are found automatically (for error messages).
SUPPORTED_BACKBONES = (
    'any backbone with a stage_groups() method (ssld_mm PaddleMobileNetV3, '
    'PaddleMobileNetV2, MobileNetV1)',
    'ResNet family with `res_layers` (mmpretrain/mmdet ResNet, ResNetV1c, '
    'ResNetV1d, ResNeXt, Res2Net, SEResNet, ...)',
    'mmpretrain MobileNetV3 (large/small)',
    'mmpretrain/mmdet MobileNetV2',
)

StagePatterns = List[List[str]]


def _children(module: nn.Module) -> List[str]:
    return [name for name, _ in module.named_children()]


def _resnet_groups(backbone: nn.Module) -> Optional[StagePatterns]:
    """Stem -> m0, ``layer1..layer4`` -> m1..m4 (PaddleClas ResNet_vd)."""
    res_layers = getattr(backbone, 'res_layers', None)
    if not (isinstance(res_layers, (list, tuple)) and 0 < len(res_layers) <= 4
            and all(isinstance(r, str) for r in res_layers)):
        return None
    children = _children(backbone)
    stem = [c for c in ('stem', 'conv1', 'norm1', 'bn1') if c in children]
    stages = [[r] for r in res_layers]
    stages += [[] for _ in range(4 - len(stages))]
    return [stem] + stages


def _mmpretrain_mobilenet_v3(backbone: nn.Module) -> Optional[StagePatterns]:
    children = _children(backbone)
    if not (len(children) >= 3
            and children == [f'layer{i}' for i in range(len(children))]):
        return None
    # layer0: stem conv, layer1..layerN-1: blocks, layerN: last 1x1 conv.
    return mobilenet_v3_stage_groups(children[:1], children[1:-1], children[-1:])


def _mobilenet_v2_groups(backbone: nn.Module) -> Optional[StagePatterns]:
    """By output stride: /2 -> m0, /4 -> m1, /8 -> m2, /16 -> m3, /32 -> m4
    (MMPretrain/MMDetection ``conv1, layer1..layer7, conv2``)."""
    children = _children(backbone)
    expected = ['conv1'] + [f'layer{i}' for i in range(1, 8)]
    if children[:8] == expected and set(children[8:]) <= {'conv2'}:
        return [['conv1', 'layer1'], ['layer2'], ['layer3'], ['layer4', 'layer5'],
                ['layer6', 'layer7'] + (['conv2'] if 'conv2' in children else [])]
    return None


def _dcn_offset_paths(backbone: nn.Module) -> List[str]:
    """Module paths of the offset (and mask) convs of MMCV's DCN layers."""
    try:
        from mmcv.ops import DeformConv2d, ModulatedDeformConv2d
    except ImportError:  # mmcv without compiled ops has no DCN layers
        return []
    return [
        f'{name}.conv_offset' for name, mod in backbone.named_modules()
        if isinstance(mod, (DeformConv2d, ModulatedDeformConv2d))
        and isinstance(getattr(mod, 'conv_offset', None), nn.Module)
    ]


#: Upstream backbones, which cannot declare their groups: class name (None:
#: any class) -> how to find the groups from the module structure.
_UPSTREAM_GROUPS = (
    (None, _resnet_groups),  # the ResNet family: anything with `res_layers`
    ('MobileNetV3', _mmpretrain_mobilenet_v3),
    ('MobileNetV2', _mobilenet_v2_groups),  # MMPretrain's and MMDetection's
)


def get_stage_patterns(backbone: nn.Module) -> Optional[StagePatterns]:
    """Five groups of module paths (relative to the backbone) for ``lr_mult_list``.

    The backbone's own ``stage_groups()`` when it has one, else the grouping
    of :data:`_UPSTREAM_GROUPS` that recognises it.

    Args:
        backbone (nn.Module): The backbone module.

    Returns:
        list[list[str]] | None: ``[m0 paths, m1 paths, ..., m4 paths]`` (a group
        may be empty), or None when the backbone is not one we can split.
    """
    declared = getattr(backbone, 'stage_groups', None)
    if callable(declared):
        return declared()
    for class_name, groups_of in _UPSTREAM_GROUPS:
        if class_name in (None, type(backbone).__name__):
            groups = groups_of(backbone)
            if groups is not None:
                return groups
    return None


def _outside_module(name: str, backbone_prefixes: Sequence[str]) -> str:
    """The top module of a parameter outside the backbone, for the table.

    ``roi_head.bbox_head.fc_cls.weight`` -> ``roi_head``; beside a nested
    backbone (``student.backbone``) -> ``student.head``.
    """
    for prefix in backbone_prefixes:
        parent = prefix.rpartition('.')[0]
        if parent and match_module_path(name, parent):
            rest = name[len(parent) + 1:]
            return f'{parent}.{rest.split(".")[0]}'
    return name.split('.')[0]


def _normalise_patterns(stage_patterns) -> StagePatterns:
    if not isinstance(stage_patterns, (list, tuple)) or not stage_patterns:
        raise TypeError('paramwise_cfg.stage_patterns must be a non-empty list '
                        'with one entry (a module path or a list of module '
                        f'paths) per lr_mult_list entry, got {stage_patterns!r}')
    groups = []
    for i, entry in enumerate(stage_patterns):
        entry = [entry] if isinstance(entry, str) else entry
        if not isinstance(entry, (list, tuple)) or not all(
                isinstance(p, str) and p for p in entry):
            raise TypeError(f'paramwise_cfg.stage_patterns[{i}] must be a module path '
                            f'string or a list of them, got {stage_patterns[i]!r}')
        groups.append(list(entry))
    return groups


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class LayerwiseLROptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """One learning-rate multiplier per backbone stage (``lr_mult_list``).

    ``paramwise_cfg`` takes everything :class:`DefaultOptimWrapperConstructor`
    takes (``custom_keys``, ``norm_decay_mult``, ``bias_decay_mult``,
    ``bias_lr_mult``, ``flat_decay_mult``, ...) plus:

    - ``lr_mult_list`` (list[float]): required. Five multipliers for the stem
      and the four stages of the backbone (PaddleClas's ``lr_mult_list``), or,
      with ``stage_patterns``, one per pattern group.
    - ``stage_patterns`` (list[str | list[str]], optional): module paths
      relative to the backbone, one entry per multiplier, for backbones whose
      groups are not found automatically (or to override them). ``'layer1'``
      covers module ``layer1`` and everything below it, never ``layer10``.

    The backbone is every submodule named ``backbone`` (``backbone.``,
    ``student.backbone.``, ...) that has trainable parameters, so one setting
    works in an MMPretrain classifier, in the SSLD distiller and in an
    MMDetection detector. Parameters outside it (neck, head, FPN, RPN, RoI
    heads) keep multiplier 1.0, and so do the offset convs of MMCV DCN layers
    inside the backbone (``*.conv_offset``; PaddleDetection does not scale
    them; ``dcn_offset_lr_mult`` still applies). Frozen parameters
    (``requires_grad=False``: frozen stages, frozen BN) are in no group. Every
    trainable backbone parameter must fall in a group, otherwise building
    fails and names the strays.

    A group's lr is ``lr * m_i``, times the ``lr_mult`` of a matching
    ``custom_keys`` entry or ``bias_lr_mult`` where those apply. Weight decay
    coefficients are left as ``weight_decay * decay_mult``: as in Paddle, where
    the L2 term is added to the gradient before the per-parameter lr, the decay
    step of a parameter is then ``lr * m_i * weight_decay`` (PyTorch's SGD and
    AdamW multiply the decay by the group's lr too).

    Automatic groups (``m0`` .. ``m4``):

    - ResNet family (anything with ``res_layers``: MMPretrain's and
      MMDetection's ResNet, ResNetV1c, ResNetV1d, ResNeXt, Res2Net, ...):
      stem (``stem`` or ``conv1``/``norm1``/``bn1``), ``layer1`` .. ``layer4``
      (PaddleClas ResNet_vd: ``conv1_1..conv1_3``, ``res2`` .. ``res5``).
    - A backbone with a ``stage_groups()`` method (ssld_mm's
      PaddleMobileNetV3, PaddleMobileNetV2, MobileNetV1) names its groups.
    - MobileNetV3 (MMPretrain's ``layer0..layerN``; ssld_mm's
      PaddleMobileNetV3 alike), PaddleDetection's rule: stem ->
      m0, block ``i`` -> ``m[min(i // 3, 4)]``, the last 1x1 conv -> the next
      index. Large (15 blocks): blocks 0-2 m0, 3-5 m1, 6-8 m2, 9-11 m3,
      12-14 and the last conv m4. Small (11 blocks): blocks 0-2 m0, 3-5 m1,
      6-8 m2, 9-10 and the last conv m3; m4 is unused.
    - MobileNetV2 by output stride (MMPretrain/MMDetection names; ssld_mm's
      PaddleMobileNetV2 alike):
      ``conv1``, ``layer1`` (/2) m0; ``layer2`` (/4) m1; ``layer3`` (/8) m2;
      ``layer4``, ``layer5`` (/16) m3; ``layer6``, ``layer7``, ``conv2`` m4.
    - ssld_mm MobileNetV1 by output stride: ``stem`` + block 0 m0,
      blocks 1-2 m1, 3-4 m2, 5-10 m3, 11-12 m4.

    At build it logs one table: group, modules, number of parameter tensors
    and elements, lr, weight decay; in a detector also the DCN offsets and
    the modules outside the backbone (``neck, rpn_head, roi_head``).

    Args:
        optim_wrapper_cfg (dict): The optim wrapper config (with
            ``optimizer``, whose ``lr`` is required).
        paramwise_cfg (dict): Parameter-wise options, see above.

    Example:
        >>> optim_wrapper = dict(
        >>>     optimizer=dict(type='SGD', lr=0.00375, momentum=0.9,
        >>>                    weight_decay=1e-6),
        >>>     constructor='LayerwiseLROptimWrapperConstructor',
        >>>     paramwise_cfg=dict(lr_mult_list=[0.1, 0.1, 0.2, 0.2, 0.3]))
        >>> # any other backbone: name the modules of each group
        >>> paramwise_cfg = dict(
        >>>     lr_mult_list=[0.1, 0.5, 1.0],
        >>>     stage_patterns=['patch_embed', ['layers.0', 'layers.1'],
        >>>                     ['layers.2', 'layers.3', 'ln1']])
        >>> # an MMDetection config (default_scope='mmdet'):
        >>> # constructor='ssld_mm.LayerwiseLROptimWrapperConstructor'
    """

    def __init__(self,
                 optim_wrapper_cfg: dict,
                 paramwise_cfg: Optional[dict] = None) -> None:
        super().__init__(optim_wrapper_cfg, paramwise_cfg)
        cfg = self.paramwise_cfg
        if 'lr_mult_list' not in cfg:
            raise ValueError(
                'LayerwiseLROptimWrapperConstructor needs '
                'paramwise_cfg.lr_mult_list (e.g. [0.1, 0.1, 0.2, 0.2, 0.3]); '
                f'got paramwise_cfg keys {sorted(cfg)}')
        lr_mult_list = cfg['lr_mult_list']
        if not isinstance(lr_mult_list, (list, tuple)) or not all(
                isinstance(m, (int, float)) and not isinstance(m, bool)
                for m in lr_mult_list):
            raise TypeError('paramwise_cfg.lr_mult_list must be a list of '
                            f'numbers, got {lr_mult_list!r}')
        if any(m < 0 for m in lr_mult_list):
            raise ValueError('paramwise_cfg.lr_mult_list entries must be >= 0, '
                             f'got {list(lr_mult_list)}')
        stage_patterns = cfg.get('stage_patterns', None)
        self.stage_patterns: Optional[StagePatterns] = None
        if stage_patterns is not None:
            self.stage_patterns = _normalise_patterns(stage_patterns)
            if len(lr_mult_list) != len(self.stage_patterns):
                raise ValueError(
                    f'paramwise_cfg.lr_mult_list has {len(lr_mult_list)} '
                    f'entries but stage_patterns has '
                    f'{len(self.stage_patterns)} groups; give one multiplier '
                    'per group')
        elif len(lr_mult_list) != NUM_AUTO_GROUPS:
            raise ValueError(f'paramwise_cfg.lr_mult_list must have {NUM_AUTO_GROUPS} '
                             '(stem + 4 stages) entries, got '
                             f'{len(lr_mult_list)}: {list(lr_mult_list)}; pass '
                             'stage_patterns to use another number of groups')
        if self.base_lr is None:
            raise ValueError('LayerwiseLROptimWrapperConstructor needs '
                             'optimizer.lr to be set')
        self.lr_mult_list = [float(m) for m in lr_mult_list]
        self._frozen_skipped = 0
        self._backbone_prefixes: List[str] = []

    # ------------------------------------------------------------------ build
    def add_params(self,
                   params: List[dict],
                   module: nn.Module,
                   prefix: str = '',
                   is_dcn_module: Optional[Union[int, float]] = None) -> None:
        """Add the parameters of ``module`` with their stage multipliers.

        The default constructor's rules (``custom_keys``, decay multipliers)
        build the groups; the root call then multiplies each group's lr by
        the multiplier of the stage its parameter belongs to and logs the
        table.

        Args:
            params (list[dict]): Param groups, modified in place.
            module (nn.Module): The module whose parameters are added.
            prefix (str): The module's name in the model.
            is_dcn_module (int | float | None): See the parent class.
        """
        if prefix:
            # A fully frozen subtree (e.g. frozen stages, a teacher) adds
            # nothing: count it once instead of one warning per parameter.
            own = list(module.parameters())
            if own and not any(p.requires_grad for p in own):
                self._frozen_skipped += len(own)
                return
            super().add_params(params, module, prefix, is_dcn_module)
            return

        self._frozen_skipped = 0
        assignment, group_paths = self._assign_stages(module)
        start = len(params)
        super().add_params(params, module, prefix, is_dcn_module)
        names = {id(p): n for n, p in module.named_parameters()}
        rows: Dict[int, dict] = {}
        outside: List[str] = []
        for group in params[start:]:
            name = names[id(group['params'][0])]
            index = assignment.get(name, -1)
            mult = 1.0 if index < 0 else self.lr_mult_list[index]
            group['lr'] = group.get('lr', self.base_lr) * mult
            if index == -1:
                top = _outside_module(name, self._backbone_prefixes)
                if top not in outside:
                    outside.append(top)
            row = rows.setdefault(index, dict(tensors=0, numel=0, lrs=set(), wds=set()))
            row['tensors'] += len(group['params'])
            row['numel'] += sum(p.numel() for p in group['params'])
            row['lrs'].add(group['lr'])
            row['wds'].add(group.get('weight_decay', self.base_wd))
        group_paths[-1] = ', '.join(outside) or '-'
        self._log_table(rows, group_paths)

    def _assign_stages(self, model: nn.Module) -> Tuple[Dict[str, int], Dict[int, str]]:
        """Map every trainable backbone parameter name to its group index."""
        backbones = self._find_backbones(model)
        self._backbone_prefixes = [prefix for prefix, _ in backbones]
        assignment: Dict[str, int] = {}
        group_paths: Dict[int, List[str]] = {}
        for prefix, backbone in backbones:
            patterns = self.stage_patterns
            if patterns is None:
                patterns = get_stage_patterns(backbone)
                if patterns is None:
                    raise ValueError(
                        f'LayerwiseLROptimWrapperConstructor cannot split '
                        f'backbone {prefix!r} of type '
                        f'{type(backbone).__name__} into lr_mult_list groups '
                        f'automatically (children: {_children(backbone)}). '
                        'Pass paramwise_cfg.stage_patterns, one module path '
                        'or list of paths (relative to the backbone) per '
                        'multiplier. Found automatically: ' +
                        '; '.join(SUPPORTED_BACKBONES))
            for index, paths in enumerate(patterns):
                group_paths.setdefault(index, [])
                for path in paths:
                    if path not in group_paths[index]:
                        group_paths[index].append(path)
            offsets = _dcn_offset_paths(backbone)
            strays, used = [], set()
            for name, param in backbone.named_parameters():
                if not param.requires_grad:
                    continue
                if any(match_module_path(name, path) for path in offsets):
                    # Paddle does not scale the offset convs of DCN layers.
                    assignment[f'{prefix}.{name}'] = DCN_OFFSET_GROUP
                    continue
                best, best_len, best_path = -1, -1, None
                for index, paths in enumerate(patterns):
                    for path in paths:
                        if match_module_path(name, path) and len(path) > best_len:
                            best, best_len, best_path = index, len(path), path
                if best < 0:
                    strays.append(name)
                else:
                    used.add(best_path)
                    assignment[f'{prefix}.{name}'] = best
            unused = [p for paths in patterns for p in paths if p not in used]
            if self.stage_patterns is not None and unused:
                print_log(
                    f'stage_patterns {unused} match no trainable parameter of '
                    f'backbone {prefix!r}',
                    logger='current',
                    level=logging.WARNING)
            if strays:
                raise ValueError(
                    f'{len(strays)} trainable parameters of backbone '
                    f'{prefix!r} ({type(backbone).__name__}) are in no '
                    f'lr_mult_list group: {strays[:10]}'
                    f'{" ..." if len(strays) > 10 else ""}. Add their modules '
                    'to paramwise_cfg.stage_patterns.')
        return assignment, {
            i: ', '.join(p) if p else '-'
            for i, p in group_paths.items()
        }

    @staticmethod
    def _find_backbones(model: nn.Module) -> List[Tuple[str, nn.Module]]:
        found: List[Tuple[str, nn.Module]] = []
        for name, mod in model.named_modules():
            if not (name == 'backbone' or name.endswith('.backbone')):
                continue
            if any(match_module_path(name, outer) for outer, _ in found):
                continue  # a backbone nested in a backbone
            if any(p.requires_grad for p in mod.parameters()):
                found.append((name, mod))
        if not found:
            raise ValueError(
                'LayerwiseLROptimWrapperConstructor found no submodule named '
                f'"backbone" with trainable parameters in '
                f'{type(model).__name__} (top-level children: '
                f'{_children(model)})')
        return found

    def _log_table(self, rows: Dict[int, dict], group_paths: Dict[int, str]) -> None:

        def fmt(values) -> str:
            return ', '.join(f'{v:.4g}' for v in sorted(values)) or '-'

        header = ('group', 'lr_mult', 'modules', 'tensors', 'elements', 'lr',
                  'weight_decay')
        lines = []
        for index in list(range(len(self.lr_mult_list))) + [DCN_OFFSET_GROUP, -1]:
            row = rows.get(index, dict(tensors=0, numel=0, lrs=(), wds=()))
            if index < 0:
                if not row['tensors']:
                    continue
                if index == DCN_OFFSET_GROUP:
                    label, paths = 'backbone DCN offsets', '*.conv_offset'
                else:
                    label = 'outside backbone'
                    paths = group_paths.get(-1, '-')
                mult = 1.0
            else:
                label = f'lr_mult_list[{index}]'
                mult = self.lr_mult_list[index]
                paths = group_paths.get(index, '-')
            if len(paths) > 48:
                paths = paths[:45] + '...'
            lines.append(
                (label, f'{mult:g}', paths, str(row['tensors']), str(row['numel']),
                 fmt(row['lrs']), fmt(row['wds']) if self.base_wd is not None else '-'))
        widths = [
            max(len(h), *(len(r[i]) for r in lines)) for i, h in enumerate(header)
        ]
        out = [
            'Layer-wise lr (LayerwiseLROptimWrapperConstructor):',
            ' | '.join(h.ljust(w) for h, w in zip(header, widths)),
            '-+-'.join('-' * w for w in widths)
        ]
        out += [' | '.join(c.ljust(w) for c, w in zip(r, widths)) for r in lines]
        if self._frozen_skipped:
            out.append(f'({self._frozen_skipped} frozen parameter tensors '
                       'with requires_grad=False are not optimized)')
        print_log('\n'.join(out), logger='current')


__all__: Sequence[str] = ('LayerwiseLROptimWrapperConstructor', 'get_stage_patterns',
                          'match_module_path')
