"""The two explicit set-up calls of ssld_mm: registries, and MMEngine runtime.

Importing ssld_mm or any of its subpackages registers their modules and
changes nothing else in the process. What ssld_mm changes in MMEngine is
applied only by :func:`setup_runtime`, which is called by
:func:`register_all_modules`, by the command-line tools before they load a
config, and by :class:`~ssld_mm.engine.runner.SSLDRunner` when it is built.
"""
import datetime
import warnings

from mmengine import DefaultScope


def setup_runtime() -> None:
    """Route MMEngine's checkpoint I/O through ssld_mm and enable ``ssld_mm::``.

    Process-wide and idempotent (calling it again changes nothing):

    - local checkpoints load safely:
      :func:`~ssld_mm.utils.checkpoint.load_local_checkpoint` becomes the
      ``''`` scheme of :class:`mmengine.runner.CheckpointLoader`
      (``load_from``, ``resume``, ``init_cfg`` checkpoints ...);
    - local files are written atomically:
      :class:`~ssld_mm.utils.atomic_local_backend.AtomicLocalBackend` becomes
      MMEngine's ``'local'`` file backend (prefix ``''``);
    - ``resume=True`` picks the newest *complete* checkpoint:
      :func:`~ssld_mm.utils.checkpoint.find_resumable_checkpoint` replaces
      ``find_latest_checkpoint`` of ``mmengine.runner.runner`` and
      ``mmengine.runner._flexible_runner``;
    - ``_base_ = ['ssld_mm::<path>']`` config paths resolve
      (:func:`~ssld_mm.utils.config_scope.register_config_scope`).

    Called by :func:`register_all_modules`, by ``tools/*.py`` before they
    load a config and by :class:`~ssld_mm.engine.runner.SSLDRunner`'s
    constructor. Another program that loads ssld_mm configs or checkpoints
    calls it (or :func:`register_all_modules`) once, before
    ``Config.fromfile``; a config run by another program's Runner gets it with
    ``runner_type = 'ssld_mm.SSLDRunner'``.

    Example:
        >>> from mmengine.config import Config
        >>> from ssld_mm.utils import setup_runtime
        >>> setup_runtime()
        >>> cfg = Config.fromfile('my_config.py')  # _base_ = ['ssld_mm::ssld/...']
    """
    from .checkpoint import patch_mmengine_checkpoint_loader
    from .config_scope import register_config_scope
    patch_mmengine_checkpoint_loader()
    register_config_scope()


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import every ssld_mm (and mmpretrain) module so that registries are full.

    Also calls :func:`setup_runtime` (safe checkpoint loading, atomic saving,
    robust resume, ``ssld_mm::`` config paths).

    Args:
        init_default_scope (bool): Whether to make ``ssld_mm`` the current default
            scope. When another scope is current, a new ``ssld_mm`` scope instance
            is created (the old one is kept), with a warning. Defaults to True.

    Example:
        >>> from ssld_mm.utils import register_all_modules
        >>> register_all_modules()
        >>> from ssld_mm.registry import MODELS
        >>> MODELS.get('mmpretrain.ImageClassifier')  # upstream, by scoped name
    """
    import mmpretrain.utils

    mmpretrain.utils.register_all_modules(init_default_scope=False)

    import ssld_mm.datasets  # noqa: F401
    import ssld_mm.engine  # noqa: F401
    import ssld_mm.models  # noqa: F401

    setup_runtime()
    if not init_default_scope:
        return

    current_scope = DefaultScope.get_current_instance()
    if current_scope is None:
        DefaultScope.get_instance('ssld_mm', scope_name='ssld_mm')
    elif current_scope.scope_name != 'ssld_mm':
        warnings.warn(
            f'The current default scope "{current_scope.scope_name}" is not '
            '"ssld_mm", `register_all_modules` will force the current default '
            'scope to be "ssld_mm". If this is not expected, please set '
            '`init_default_scope=False`.')
        new_instance_name = f'ssld_mm-{datetime.datetime.now()}'
        DefaultScope.get_instance(new_instance_name, scope_name='ssld_mm')
