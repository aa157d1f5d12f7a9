"""ssld_mm: PaddleClas SSLD knowledge distillation on the OpenMMLab stack.

Importing ssld_mm (or any of its subpackages) registers modules and changes
nothing else in the process. MMEngine's checkpoint I/O (safe loading, atomic
saving, robust resume) and the ``ssld_mm::`` config scope are switched on
explicitly by :func:`ssld_mm.utils.setup_runtime`, which
:func:`ssld_mm.utils.register_all_modules`, the tools and
:class:`~ssld_mm.engine.runner.SSLDRunner` call.
"""
import warnings

from .version import __version__, version_info

# Versions this release is tested with. Never refuse a newer one, only warn.
_TESTED = {'mmengine': '0.10.7', 'mmcv': '2.1.0', 'mmpretrain': '1.2.0'}


def _warn_untested_versions() -> None:
    from importlib.metadata import PackageNotFoundError, version
    for pkg, tested in _TESTED.items():
        try:
            found = version(pkg)
        except PackageNotFoundError:
            continue
        if found != tested:
            warnings.warn(f'ssld_mm {__version__} is tested with {pkg}=={tested}, '
                          f'found {pkg}=={found}.')


_warn_untested_versions()

__all__ = ['__version__', 'version_info']
