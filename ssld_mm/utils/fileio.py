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


def _tmp_name(path: str) -> str:
    # pid-unique, so shards that merge at the same time never share a file.
    return f'{path}.tmp.{os.getpid()}'


@contextmanager
def atomic_open(path: str, mode: str = 'w', **kwargs) -> Iterator[Any]:
    """Open a temporary file that replaces ``path`` only when the block ends
    without an exception (then it is flushed and fsync'ed first).

    Example:
        >>> with atomic_open('out.txt') as f:
        ...     f.write('complete or absent\\n')
    """
    d = osp.dirname(osp.abspath(path))
    os.makedirs(d, exist_ok=True)
    tmp = _tmp_name(path)
    try:
        with open(tmp, mode, **kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


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
