"""Registries of ssld_mm: one child of every MMEngine root registry.

Every registry uses the scope ``ssld_mm`` and knows where its modules live
(``locations``), so a config with ``default_scope='ssld_mm'`` finds our own
types by plain name (``'SSLDDistiller'``) and upstream ones by scoped name
(``'mmpretrain.ImageClassifier'``, ``'mmdet.FasterRCNN'``).
"""
from mmengine.registry import RUNNERS as MMENGINE_RUNNERS
from mmengine.registry import RUNNER_CONSTRUCTORS as MMENGINE_RUNNER_CONSTRUCTORS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import LOG_PROCESSORS as MMENGINE_LOG_PROCESSORS
from mmengine.registry import OPTIMIZERS as MMENGINE_OPTIMIZERS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import WEIGHT_INITIALIZERS as MMENGINE_WEIGHT_INITIALIZERS
from mmengine.registry import TASK_UTILS as MMENGINE_TASK_UTILS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import EVALUATOR as MMENGINE_EVALUATOR
from mmengine.registry import VISUALIZERS as MMENGINE_VISUALIZERS
from mmengine.registry import VISBACKENDS as MMENGINE_VISBACKENDS
from mmengine.registry import FUNCTIONS as MMENGINE_FUNCTIONS
from mmengine.registry import INFERENCERS as MMENGINE_INFERENCERS
from mmengine.registry import STRATEGIES as MMENGINE_STRATEGIES
from mmengine.registry import Registry as _MMEngineRegistry


class Registry(_MMEngineRegistry):
    """A registry whose plain names fall back to MMPretrain's sibling node.

    ssld_mm builds on MMPretrain: under ``default_scope='ssld_mm'`` a plain
    name is looked up here first, then in MMEngine's root, then in
    MMPretrain's registry of the same kind. So upstream classes whose own
    defaults use plain names (``ImageClassifier`` builds a
    ``'ClsDataPreprocessor'``, heads a ``'CrossEntropyLoss'``) still build
    inside our scope, and ``'mmpretrain.X'`` / ``'mmdet.X'`` scoped names work
    as in any OpenMMLab project.
    """

    def get(self, key: str):
        obj = super().get(key)
        if obj is None and isinstance(key, str) and '.' not in key:
            upstream = self._mmpretrain_sibling()
            if upstream is not None:
                obj = upstream.get(key)
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
            searched = [f'{self.scope}::{self.name}']
            parent = self.parent
            while parent is not None:
                searched.append(f'{parent.scope}::{parent.name}')
                parent = parent.parent
            if self._mmpretrain_sibling() is not None:
                searched.append(f'mmpretrain::{self.name}')
            raise KeyError(
                f'{key} is not in the {self.scope}::{self.name} registry nor '
                f'any other searched ({", ".join(searched)}): check the '
                f'spelling, use a scoped name for other packages (e.g. '
                f'"mmdet.{key}"), and import the module that registers it '
                '(custom_imports)') from None

    def _mmpretrain_sibling(self):
        if self.parent is None:
            return None
        import mmpretrain.registry  # noqa: F401  (creates the sibling nodes)
        return self.parent._search_child('mmpretrain')


__all__ = ['RUNNERS', 'RUNNER_CONSTRUCTORS', 'LOOPS', 'HOOKS', 'LOG_PROCESSORS', 'OPTIMIZERS', 'OPTIM_WRAPPERS', 'OPTIM_WRAPPER_CONSTRUCTORS', 'PARAM_SCHEDULERS', 'DATASETS', 'DATA_SAMPLERS', 'TRANSFORMS', 'MODELS', 'MODEL_WRAPPERS', 'WEIGHT_INITIALIZERS', 'TASK_UTILS', 'METRICS', 'EVALUATOR', 'VISUALIZERS', 'VISBACKENDS', 'FUNCTIONS', 'INFERENCERS', 'STRATEGIES']

RUNNERS = Registry(
    'runner',
    parent=MMENGINE_RUNNERS,
    scope='ssld_mm',
    locations=['ssld_mm.engine'])
RUNNER_CONSTRUCTORS = Registry(
    'runner constructor',
    parent=MMENGINE_RUNNER_CONSTRUCTORS,
    scope='ssld_mm',
    locations=['ssld_mm.engine'])
LOOPS = Registry(
    'loop',
    parent=MMENGINE_LOOPS,
    scope='ssld_mm',
    locations=['ssld_mm.engine'])
HOOKS = Registry(
    'hook',
    parent=MMENGINE_HOOKS,
    scope='ssld_mm',
    locations=['ssld_mm.engine'])
LOG_PROCESSORS = Registry(
    'log processor',
    parent=MMENGINE_LOG_PROCESSORS,
    scope='ssld_mm',
    locations=['ssld_mm.engine'])
OPTIMIZERS = Registry(
    'optimizer',
    parent=MMENGINE_OPTIMIZERS,
    scope='ssld_mm',
    locations=['ssld_mm.engine'])
OPTIM_WRAPPERS = Registry(
    'optim_wrapper',
    parent=MMENGINE_OPTIM_WRAPPERS,
    scope='ssld_mm',
    locations=['ssld_mm.engine'])
OPTIM_WRAPPER_CONSTRUCTORS = Registry(
    'optimizer wrapper constructor',
    parent=MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS,
    scope='ssld_mm',
    locations=['ssld_mm.engine'])
PARAM_SCHEDULERS = Registry(
    'parameter scheduler',
    parent=MMENGINE_PARAM_SCHEDULERS,
    scope='ssld_mm',
    locations=['ssld_mm.engine'])
DATASETS = Registry(
    'dataset',
    parent=MMENGINE_DATASETS,
    scope='ssld_mm',
    locations=['ssld_mm.datasets'])
DATA_SAMPLERS = Registry(
    'data sampler',
    parent=MMENGINE_DATA_SAMPLERS,
    scope='ssld_mm',
    locations=['ssld_mm.datasets'])
TRANSFORMS = Registry(
    'transform',
    parent=MMENGINE_TRANSFORMS,
    scope='ssld_mm',
    locations=['ssld_mm.datasets'])
MODELS = Registry(
    'model',
    parent=MMENGINE_MODELS,
    scope='ssld_mm',
    locations=['ssld_mm.models'])
MODEL_WRAPPERS = Registry(
    'model_wrapper',
    parent=MMENGINE_MODEL_WRAPPERS,
    scope='ssld_mm',
    locations=['ssld_mm.models'])
WEIGHT_INITIALIZERS = Registry(
    'weight initializer',
    parent=MMENGINE_WEIGHT_INITIALIZERS,
    scope='ssld_mm',
    locations=['ssld_mm.models'])
TASK_UTILS = Registry(
    'task util',
    parent=MMENGINE_TASK_UTILS,
    scope='ssld_mm',
    locations=['ssld_mm.models'])
METRICS = Registry(
    'metric',
    parent=MMENGINE_METRICS,
    scope='ssld_mm',
    locations=['ssld_mm.models'])
EVALUATOR = Registry(
    'evaluator',
    parent=MMENGINE_EVALUATOR,
    scope='ssld_mm',
    locations=['ssld_mm.models'])
VISUALIZERS = Registry(
    'visualizer',
    parent=MMENGINE_VISUALIZERS,
    scope='ssld_mm',
    locations=['ssld_mm.utils'])
VISBACKENDS = Registry(
    'vis_backend',
    parent=MMENGINE_VISBACKENDS,
    scope='ssld_mm',
    locations=['ssld_mm.utils'])
FUNCTIONS = Registry(
    'function',
    parent=MMENGINE_FUNCTIONS,
    scope='ssld_mm',
    locations=['ssld_mm.utils'])
INFERENCERS = Registry(
    'inferencer',
    parent=MMENGINE_INFERENCERS,
    scope='ssld_mm',
    locations=['ssld_mm.utils'])
STRATEGIES = Registry(
    'strategy',
    parent=MMENGINE_STRATEGIES,
    scope='ssld_mm',
    locations=['ssld_mm.engine'])
