"""Chunked, resumable, shardable processing of an image list.

Both data-selection tools split the pool list into fixed chunks of
consecutive entries. Each finished chunk is written to the work directory as
its own file, atomically (a temporary file renamed over the final name), so a
run that is killed leaves only complete chunk files and temporary files that
are ignored. A restart with the same work directory skips the finished chunks.
A ``manifest.json`` records everything that determines the result (the input
lists' checksums and the parameters); a restart with different ones is
refused instead of silently mixing two runs. Final outputs are written once,
atomically, after all chunks exist.

Sharding assigns chunk ``c`` to shard ``c % num_shards``, so the shards of one
run share a work directory and any of them (or a later run without sharding)
can merge.
"""
import dataclasses
import hashlib
import json
import os
import os.path as osp
import re
from dataclasses import dataclass
from typing import (Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence,
                    Tuple)

import numpy as np

from ssld_mm.datasets.image_list import iter_image_list
from ssld_mm.utils.fileio import atomic_open  # noqa: F401 (re-exported)
from ssld_mm.utils.fileio import write_json_atomic  # noqa: F401
from ssld_mm.utils.fileio import write_lines_atomic  # noqa: F401

MANIFEST = 'manifest.json'
_SHARD_RE = re.compile(r'^\s*(\d+)\s*/\s*(\d+)\s*$')


def file_sha1(path: str, block: int = 1 << 22) -> str:
    """SHA-1 of a file's bytes, read in blocks (fast for lists of millions)."""
    h = hashlib.sha1()
    with open(path, 'rb') as f:
        for buf in iter(lambda: f.read(block), b''):
            h.update(buf)
    return h.hexdigest()


def count_entries(list_file: str) -> int:
    """Number of entries of an image list (validates every line)."""
    return sum(1 for _ in iter_image_list(list_file))


def parse_shard(text: str) -> Tuple[int, int]:
    """Parse ``'i/n'`` into ``(i, n)`` with ``0 <= i < n``.

    Raises:
        ValueError: On anything else, naming the accepted form.
    """
    m = _SHARD_RE.match(str(text))
    if m is None:
        raise ValueError(f'--shard must look like "i/n" (e.g. "0/4"), got {text!r}')
    index, num = int(m.group(1)), int(m.group(2))
    if num < 1 or not 0 <= index < num:
        raise ValueError(f'--shard {text!r}: need 0 <= i < n and n >= 1')
    return index, num


class FromMapping:
    """Build a dataclass of options from the same-named entries of a mapping.

    The public functions of the data tools take their options as flat keyword
    arguments (command-line flags map onto them one to one) and hand them on
    as one object: ``Options.from_mapping(locals())`` picks exactly the
    dataclass's fields, so the option names are written once, in the
    dataclass.

    Example:
        >>> def run(shard=(0, 1), num_workers=4, device=None, progress=True,
        ...         on_chunk_done=None, log=print):
        ...     return ShardRun.from_mapping(locals())
    """

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]):
        """The dataclass from ``values`` (extra entries are ignored).

        Raises:
            TypeError: If a field is missing from ``values``.
        """
        names = [f.name for f in dataclasses.fields(cls)]
        missing = [n for n in names if n not in values]
        if missing:
            raise TypeError(f'{cls.__name__}.from_mapping: the mapping lacks '
                            f'{missing} (it needs every field: {names})')
        return cls(**{n: values[n] for n in names})


@dataclass
class ShardRun(FromMapping):
    """How this process runs its share of a chunked, sharded tool run.

    The options ``select_topk`` and ``generate_soft_labels`` share (their
    ``shard=... log=`` keyword arguments), validated once here, plus the
    bookkeeping of a shard: which of its chunks are still to run and whether
    other shards still have chunks to run before the outputs can be merged.

    Args:
        shard (tuple[int, int]): ``(i, n)``: this process runs the chunks
            ``c % n == i``. Defaults to ``(0, 1)``.
        num_workers (int): DataLoader workers. Defaults to 4.
        device (str, optional): Teacher device; None: cuda if available.
        progress (bool): Show a progress bar. Defaults to True.
        on_chunk_done (callable, optional): Called with each finished chunk.
        log (callable): Progress messages. Defaults to :func:`print`.

    Example:
        >>> run = ShardRun(shard=(1, 4), num_workers=0)
        >>> pending, stats = run.pending(10, done=[1], unit='chunks')
        shard 1/4: 3 chunks, 1 already done, 2 to run
        >>> pending
        [5, 9]
    """
    shard: Tuple[int, int] = (0, 1)
    num_workers: int = 4
    device: Optional[str] = None
    progress: bool = True
    on_chunk_done: Optional[Callable[[int], None]] = None
    log: Callable[[str], None] = print

    def __post_init__(self) -> None:
        s = self.shard
        if not (isinstance(s, tuple) and len(s) == 2 and 0 <= s[0] < s[1]):
            raise ValueError(f'shard must be (i, n) with 0 <= i < n, got {s!r}')
        w = self.num_workers
        if not isinstance(w, (int, np.integer)) or w < 0:
            raise ValueError(f'num_workers must be an integer >= 0, got {w!r}')
        self.num_workers = int(w)

    @property
    def name(self) -> str:
        """``'i/n'``, for messages and progress bars."""
        return f'{self.shard[0]}/{self.shard[1]}'

    def pending(self, total_chunks: int, done: Iterable[int],
                unit: str) -> Tuple[List[int], Dict[str, Any]]:
        """This shard's chunks not in ``done``, and the stats of its run.

        Logs ``shard i/n: <mine> <unit>, <skipped> already done, <pending>
        to run``.

        Returns:
            tuple[list[int], dict]: The pending chunks and the stats
            (``chunks_skipped``, ``chunks_run``, ``images``, ``seconds``).
        """
        mine = shard_chunk_ids(total_chunks, self.shard)
        done = set(done)
        pending = [c for c in mine if c not in done]
        stats = dict(
            chunks_skipped=len(mine) - len(pending),
            chunks_run=0,
            images=0,
            seconds=0.0)
        self.log(f'shard {self.name}: {len(mine)} {unit}, '
                 f'{stats["chunks_skipped"]} already done, {len(pending)} to run')
        return pending, stats

    def others_running(self, total_chunks: int, done: Sequence[int],
                       message: str) -> bool:
        """Whether chunks are still to run by other shards after this one
        finished; if so, logs ``'<left> of <total> ' + message``."""
        left = total_chunks - len(done)
        if left > 0:
            self.log(f'{left} of {total_chunks} {message}')
        return left > 0


def num_chunks(num_entries: int, chunk_size: int) -> int:
    """Number of chunks of ``chunk_size`` entries (the last may be shorter)."""
    if chunk_size < 1:
        raise ValueError(f'chunk_size must be >= 1, got {chunk_size}')
    return (num_entries + chunk_size - 1) // chunk_size


def shard_chunk_ids(total_chunks: int, shard: Tuple[int, int]) -> List[int]:
    """Chunks of shard ``(i, n)``: ``c`` with ``c % n == i``."""
    index, num = shard
    return list(range(index, total_chunks, num))


def chunk_path(work_dir: str, chunk_id: int, ext: str) -> str:
    """Path of a chunk's result file."""
    return osp.join(work_dir, f'chunk_{chunk_id:07d}.{ext}')


def done_chunks(work_dir: str, total_chunks: int, ext: str) -> List[int]:
    """Chunks whose result file exists (written atomically, so complete)."""
    return [c for c in range(total_chunks) if osp.isfile(chunk_path(work_dir, c, ext))]


def prepare_work_dir(work_dir: str, manifest: Dict[str, Any]) -> bool:
    """Create ``work_dir`` with ``manifest``, or check an existing one.

    Args:
        work_dir (str): Directory of the chunk results.
        manifest (dict): JSON-serialisable description of the run (input
            checksums, parameters that change the result).

    Returns:
        bool: True if the directory already held this run (a resume).

    Raises:
        ValueError: If the directory holds a different run; the message names
            the differing keys.
    """
    os.makedirs(work_dir, exist_ok=True)
    path = osp.join(work_dir, MANIFEST)
    # Round-trip through JSON so tuples/lists compare equal.
    manifest = json.loads(json.dumps(manifest, sort_keys=True))
    if osp.isfile(path):
        with open(path, encoding='utf-8') as f:
            old = json.load(f)
        if old != manifest:
            keys = sorted(
                k for k in set(old) | set(manifest) if old.get(k) != manifest.get(k))
            details = ', '.join(f'{k}: {old.get(k)!r} -> {manifest.get(k)!r}'
                                for k in keys)
            raise ValueError(
                f'work dir {work_dir!r} holds a different run ({details}). '
                'Use another --work-dir, or delete this one to start over.')
        return True
    write_json_atomic(path, manifest)
    return False


def default_work_dir(out: str) -> str:
    """Work directory of a run writing ``out`` when none is given: ``<out>.work``."""
    return out + '.work'


def progress_bar(total: int, desc: str, enabled: bool = True):
    """A tqdm bar over ``total`` images (None without tqdm); the one bar of
    the data-selection runs."""
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover
        return None
    return tqdm(
        total=total,
        unit='img',
        desc=desc,
        disable=not enabled,
        dynamic_ncols=True,
        smoothing=0.05)


def read_manifest(work_dir: str) -> Optional[Dict[str, Any]]:
    """The manifest of ``work_dir`` or None."""
    path = osp.join(work_dir, MANIFEST)
    if not osp.isfile(path):
        return None
    with open(path, encoding='utf-8') as f:
        return json.load(f)
