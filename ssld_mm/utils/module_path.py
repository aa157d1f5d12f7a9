"""Module paths: which parameters lie under a dotted module path."""


def match_module_path(name: str, pattern: str) -> bool:
    """Whether parameter/module ``name`` lies under module path ``pattern``.

    ``'layer1'`` matches ``'layer1'`` and ``'layer1.0.conv1.weight'`` but never
    ``'layer10.weight'`` (the substring trap of ``custom_keys``). A pattern that
    ends with a dot (``'layer1.'``) is a plain prefix.

    Args:
        name (str): Dotted parameter or module name.
        pattern (str): Dotted module path or prefix.

    Returns:
        bool: True when ``name`` is ``pattern`` or lies below it.

    Example:
        >>> match_module_path('backbone.layer1.0.conv1.weight', 'backbone.layer1')
        True
        >>> match_module_path('backbone.layer10.weight', 'backbone.layer1')
        False
    """
    if pattern.endswith('.'):
        return name.startswith(pattern)
    return name == pattern or name.startswith(pattern + '.')
