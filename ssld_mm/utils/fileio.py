"""Files that appear whole or not at all.

A temporary file in the destination's folder is written, flushed and fsync'ed,
then renamed over the destination (``os.replace`` is atomic on POSIX and
Windows): a process killed at any moment leaves the old file or the new one,
never half of one, plus at most a temporary file that readers ignore.
"""
import json
import os
import os.path as osp
from contextlib import contextmanager
from typing import Any, Iterator, Sequence

TMP_MARK = '.tmp-'


def temp_path_for(filepath: str) -> str:
    """The temporary file :func:`atomic_open` writes before renaming: hidden,
    in the same folder, pid-unique (processes writing the same file at the
    same time never share one)."""
    folder, name = osp.split(osp.abspath(filepath))
    return osp.join(folder, f'.{name}{TMP_MARK}{os.getpid()}')


def is_temp_file(name: str) -> bool:
    """Whether ``name`` is a temporary file of :func:`atomic_open`."""
    base = osp.basename(name)
    return base.startswith('.') and TMP_MARK in base


@contextmanager
def atomic_open(path: str,
                mode: str = 'w',
                sync_dir: bool = False,
                **kwargs) -> Iterator[Any]:
    """Open a temporary file that replaces ``path`` only when the block ends
    without an exception (then it is flushed and fsync'ed first).

    Args:
        path (str): The destination; its folder is created.
        mode (str): ``open`` mode, ``'w'`` or ``'wb'``. Defaults to ``'w'``.
        sync_dir (bool): Also fsync the folder after the rename, so that the
            rename itself survives a power loss (checkpoints). Defaults to
            False.
        **kwargs: More ``open`` arguments (``encoding``).

    Example:
        >>> with atomic_open('out.txt') as f:
        ...     f.write('complete or absent\\n')
    """
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = temp_path_for(path)
    try:
        with open(tmp, mode, **kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)
    if sync_dir:
        _fsync_dir(folder)


def _fsync_dir(folder: str) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows cannot open folders
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some file systems refuse
        pass
    finally:
        os.close(fd)


def write_json_atomic(path: str, obj: Any) -> None:
    """Write ``obj`` as indented JSON, atomically."""
    with atomic_open(path, 'w', encoding='utf-8') as f:
        json.dump(obj, f, indent=2, sort_keys=True)
        f.write('\n')


def write_lines_atomic(path: str, lines: Sequence[str]) -> None:
    """Write text lines (each gets a newline), atomically."""
    with atomic_open(path, 'w', encoding='utf-8') as f:
        for line in lines:
            f.write(line)
            f.write('\n')
