"""Register every ssld_mm module and set the default scope."""
import datetime
import warnings

from mmengine import DefaultScope


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import every ssld_mm (and mmpretrain) module so that registries are full.

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
