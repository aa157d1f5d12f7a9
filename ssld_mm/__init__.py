"""ssld_mm: PaddleClas SSLD knowledge distillation on the OpenMMLab stack."""
import warnings

from .utils.checkpoint import patch_mmengine_checkpoint_loader
from .utils.config_scope import register_config_scope
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
patch_mmengine_checkpoint_loader()
register_config_scope()  # `_base_ = ['ssld_mm::ssld/r50vd_mbv3.py']`

__all__ = ['__version__', 'version_info']
