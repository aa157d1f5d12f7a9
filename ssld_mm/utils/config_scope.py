"""``ssld_mm::`` config paths, the way ``mmdet::`` and ``mmpretrain::`` work.

MMEngine resolves ``_base_ = ['mmdet::faster_rcnn/x.py']`` by looking the
package up in ``mmengine.config.utils.MODULE2PACKAGE`` and reading
``<installed package>/.mim/configs/<path>`` (after consulting
``.mim/model-index.yml``). ssld_mm ships its ``configs/`` the same way:

- in a checkout or an editable install, ``ssld_mm/.mim/configs`` is a
  symbolic link to the repository's ``configs/`` (committed to git);
- a wheel or sdist carries a copy (``package_data`` in ``setup.py``,
  ``MANIFEST.in``).

Two things MMEngine lacks are added by :func:`register_config_scope`: the
``'ssld_mm'`` entry of ``MODULE2PACKAGE``, and the package's real folder for an
editable install (MMEngine's ``get_installed_path`` returns
``site-packages/ssld_mm`` for a PEP 660 editable install, a folder that does
not exist). Both are process-wide, so ``import ssld_mm`` does not do it: it is
part of :func:`ssld_mm.utils.setup_runtime`, which ``tools/train.py``,
``tools/test.py`` and the other tools call before loading a config, and
:func:`ssld_mm.utils.register_all_modules` calls too. Another program enables
it before it loads the config -- ``_base_`` is resolved when the file is read,
before ``custom_imports`` is imported, so a config cannot enable it itself::

    from mmengine.config import Config
    from ssld_mm.utils import setup_runtime  # or register_all_modules()

    setup_runtime()
    cfg = Config.fromfile('my_config.py')  # _base_ = ['ssld_mm::ssld/r50vd_mbv3.py']
"""
import os.path as osp

SCOPE = 'ssld_mm'


def package_dir() -> str:
    """The ssld_mm package folder (wherever it is installed or checked out)."""
    import ssld_mm
    return osp.abspath(list(ssld_mm.__path__)[0])


def configs_root() -> str:
    """The folder ``ssld_mm::<path>`` resolves in (``.mim/configs``)."""
    return osp.join(package_dir(), '.mim', 'configs')


def register_config_scope() -> None:
    """Make ``ssld_mm::<path>`` config paths resolve (process-wide, idempotent).

    Part of :func:`ssld_mm.utils.setup_runtime`, the entry point to call.

    Example:
        >>> from mmengine.config import Config
        >>> register_config_scope()  # or ssld_mm.utils.setup_runtime()
        >>> cfg = Config.fromfile('my_config.py')  # _base_ = ['ssld_mm::...']
    """
    import mmengine.config.config as config_module
    from mmengine.config import utils as config_utils
    config_utils.MODULE2PACKAGE.setdefault(SCOPE, SCOPE)
    original = config_module.get_installed_path
    if getattr(original, '_ssld_mm_scope', False):
        return

    def get_installed_path(package: str) -> str:
        if package == SCOPE:
            return package_dir()
        return original(package)

    get_installed_path._ssld_mm_scope = True  # type: ignore[attr-defined]
    get_installed_path.__doc__ = original.__doc__
    config_module.get_installed_path = get_installed_path
