"""Registries of ssld_mm: one ``ssld_mm`` child of every MMEngine root.

Under ``default_scope='ssld_mm'`` our own types build by plain name
(``'SSLDDistiller'``), upstream ones by scoped name
(``'mmpretrain.ImageClassifier'``, ``'mmdet.FasterRCNN'``), and a plain name
we do not register falls back to MMPretrain's registry of the same kind
(``fallback``: MMPretrain's child of the same MMEngine root; no registry
tree search). ``locations`` are given only for the registries our modules
register into; building imports that package first.
"""
from typing import Optional

import mmpretrain.registry  # noqa: F401  (its children exist before ours look)
from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import EVALUATOR as MMENGINE_EVALUATOR
from mmengine.registry import FUNCTIONS as MMENGINE_FUNCTIONS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import INFERENCERS as MMENGINE_INFERENCERS
from mmengine.registry import LOG_PROCESSORS as MMENGINE_LOG_PROCESSORS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import \
    OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import OPTIMIZERS as MMENGINE_OPTIMIZERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import RUNNER_CONSTRUCTORS as MMENGINE_RUNNER_CONSTRUCTORS
from mmengine.registry import RUNNERS as MMENGINE_RUNNERS
from mmengine.registry import STRATEGIES as MMENGINE_STRATEGIES
from mmengine.registry import TASK_UTILS as MMENGINE_TASK_UTILS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import VISBACKENDS as MMENGINE_VISBACKENDS
from mmengine.registry import VISUALIZERS as MMENGINE_VISUALIZERS
from mmengine.registry import WEIGHT_INITIALIZERS as MMENGINE_WEIGHT_INITIALIZERS
from mmengine.registry import Registry as MMEngineRegistry

__all__ = [
    # model side
    'MODELS',
    'MODEL_WRAPPERS',
    'WEIGHT_INITIALIZERS',
    'TASK_UTILS',
    # data side
    'DATASETS',
    'DATA_SAMPLERS',
    'TRANSFORMS',
    # training and evaluation
    'RUNNERS',
    'RUNNER_CONSTRUCTORS',
    'LOOPS',
    'HOOKS',
    'LOG_PROCESSORS',
    'OPTIMIZERS',
    'OPTIM_WRAPPERS',
    'OPTIM_WRAPPER_CONSTRUCTORS',
    'PARAM_SCHEDULERS',
    'METRICS',
    'EVALUATOR',
    'STRATEGIES',
    # the rest of MMEngine's roots
    'VISUALIZERS',
    'VISBACKENDS',
    'FUNCTIONS',
    'INFERENCERS',
]


class Registry(MMEngineRegistry):
    """An MMEngine registry whose unknown plain names fall back to one
    upstream registry (MMPretrain's of the same kind).

    Nested builds inside upstream classes use plain names
    (``ImageClassifier`` builds a ``'ClsDataPreprocessor'``, heads a
    ``'CrossEntropyLoss'``) and MMEngine resolves them in the current default
    scope, ``ssld_mm``: they are found here through ``fallback``. Our
    registries stay direct children of MMEngine's roots, so ``'ssld_mm.X'``
    resolves from any other scope (``mmdet``, ``mmpretrain``).

    Args:
        fallback (Registry, optional): Registry asked for a plain name this
            registry and its parents do not know. Defaults to None.
        *args, **kwargs: MMEngine's ``Registry`` arguments.
    """

    def __init__(self,
                 *args,
                 fallback: Optional[MMEngineRegistry] = None,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fallback = fallback

    def get(self, key: str):
        obj = super().get(key)
        if obj is None and self.fallback is not None and \
                isinstance(key, str) and '.' not in key:
            obj = self.fallback.get(key)
        return obj

    def build(self, cfg, *args, **kwargs):
        """MMEngine's build; an unknown ``type`` names every registry searched."""
        try:
            return super().build(cfg, *args, **kwargs)
        except KeyError as e:
            msg = e.args[0] if e.args else ''
            here = f' is not in the {self.scope}::{self.name} registry.'
            if not isinstance(msg, str) or here not in msg:
                raise
            key = msg.split(here)[0]
            searched, node = [], self
            while node is not None:
                searched.append(f'{node.scope}::{node.name}')
                node = node.parent
            if self.fallback is not None:
                searched.append(f'{self.fallback.scope}::{self.fallback.name}')
            raise KeyError(
                f'{key} is not in the {self.scope}::{self.name} registry nor '
                f'any other searched ({", ".join(searched)}): check the '
                f'spelling, use a scoped name for other packages (e.g. '
                f'"mmdet.{key}"), and import the module that registers it '
                '(custom_imports)') from None


def _child(parent: MMEngineRegistry, *locations: str) -> Registry:
    """The ``ssld_mm`` child of the MMEngine root ``parent`` (same name),
    falling back to MMPretrain's child of the same root, where there is one."""
    return Registry(
        parent.name,
        parent=parent,
        scope='ssld_mm',
        locations=list(locations),
        fallback=parent.children.get('mmpretrain'))


# registries our modules register into (they have `locations`)
MODELS = _child(MMENGINE_MODELS, 'ssld_mm.models')
MODEL_WRAPPERS = _child(MMENGINE_MODEL_WRAPPERS, 'ssld_mm.models')
DATASETS = _child(MMENGINE_DATASETS, 'ssld_mm.datasets')
TRANSFORMS = _child(MMENGINE_TRANSFORMS, 'ssld_mm.datasets')
RUNNERS = _child(MMENGINE_RUNNERS, 'ssld_mm.engine')
HOOKS = _child(MMENGINE_HOOKS, 'ssld_mm.engine')
OPTIM_WRAPPER_CONSTRUCTORS = _child(MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS,
                                    'ssld_mm.engine')

# the other kinds: scope `ssld_mm` resolves in every registry tree
WEIGHT_INITIALIZERS = _child(MMENGINE_WEIGHT_INITIALIZERS)
TASK_UTILS = _child(MMENGINE_TASK_UTILS)
DATA_SAMPLERS = _child(MMENGINE_DATA_SAMPLERS)
RUNNER_CONSTRUCTORS = _child(MMENGINE_RUNNER_CONSTRUCTORS)
LOOPS = _child(MMENGINE_LOOPS)
LOG_PROCESSORS = _child(MMENGINE_LOG_PROCESSORS)
OPTIMIZERS = _child(MMENGINE_OPTIMIZERS)
OPTIM_WRAPPERS = _child(MMENGINE_OPTIM_WRAPPERS)
PARAM_SCHEDULERS = _child(MMENGINE_PARAM_SCHEDULERS)
METRICS = _child(MMENGINE_METRICS)
EVALUATOR = _child(MMENGINE_EVALUATOR)
STRATEGIES = _child(MMENGINE_STRATEGIES)
VISUALIZERS = _child(MMENGINE_VISUALIZERS)
VISBACKENDS = _child(MMENGINE_VISBACKENDS)
FUNCTIONS = _child(MMENGINE_FUNCTIONS)
INFERENCERS = _child(MMENGINE_INFERENCERS)
