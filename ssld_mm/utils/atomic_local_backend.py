"""Crash-safe local writes for MMEngine (checkpoints above all).

MMEngine's :class:`~mmengine.fileio.LocalBackend` writes a checkpoint with
``open(path, 'wb').write(...)``: a kill in the middle leaves a truncated
``epoch_N.pth`` that ``--resume`` then chokes on. :class:`AtomicLocalBackend`
writes a temporary file in the same folder, flushes and fsyncs it and renames
it over the target (``os.replace`` is atomic on POSIX and Windows), so a kill
at any moment leaves either the old file or the new one, never half of one.
:func:`register_atomic_local_backend` makes it MMEngine's backend for local
paths (``save_checkpoint`` goes through it), as part of
:func:`ssld_mm.utils.setup_runtime` (called by the tools,
:func:`~ssld_mm.utils.register_all_modules` and
:class:`~ssld_mm.engine.runner.SSLDRunner`; ``import ssld_mm`` does not).
"""
from pathlib import Path
from typing import Union

from mmengine.fileio import LocalBackend, register_backend

from .fileio import TMP_MARK, atomic_open, is_temp_file, temp_path_for  # noqa: F401


def atomic_write_bytes(data: bytes, filepath: Union[str, Path]) -> None:
    """Write ``data`` to ``filepath`` so that it appears whole or not at all.

    :func:`ssld_mm.utils.fileio.atomic_open` with ``sync_dir=True``:
    temporary file in the same folder, flush, fsync, ``os.replace``, then an
    fsync of the folder so the rename itself survives a power loss.

    Args:
        data (bytes): The content.
        filepath (str | Path): The destination; its folder is created.
    """
    with atomic_open(str(filepath), 'wb', sync_dir=True) as f:
        f.write(data)


class AtomicLocalBackend(LocalBackend):
    """MMEngine's local file backend with atomic ``put`` and ``put_text``.

    Everything else is :class:`mmengine.fileio.LocalBackend`. Registered as the
    ``'local'`` backend (prefix ``''``) by :func:`register_atomic_local_backend`.

    Example:
        >>> from mmengine.fileio import get_file_backend
        >>> from ssld_mm.utils import setup_runtime
        >>> setup_runtime()
        >>> get_file_backend('work_dirs/x/epoch_1.pth')
        <ssld_mm.utils.atomic_local_backend.AtomicLocalBackend object ...>
    """

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        """Write bytes atomically (see :func:`atomic_write_bytes`)."""
        atomic_write_bytes(obj, filepath)

    def put_text(self,
                 obj: str,
                 filepath: Union[str, Path],
                 encoding: str = 'utf-8') -> None:
        """Write text atomically (see :func:`atomic_write_bytes`)."""
        atomic_write_bytes(obj.encode(encoding), filepath)


def register_atomic_local_backend() -> None:
    """Make :class:`AtomicLocalBackend` MMEngine's backend for local paths.

    Process-wide, idempotent; part of :func:`ssld_mm.utils.setup_runtime`.
    """
    register_backend('local', AtomicLocalBackend, force=True, prefixes='')
