"""Loading checkpoints safely, the one way ssld_mm reads a ``.pth`` file.

A ``.pth`` file is a pickle, and unpickling can run arbitrary code. Every local
checkpoint ssld_mm reads -- a teacher checkpoint, ``--resume``, ``load_from``, a
backbone ``init_cfg`` checkpoint, ``select_topk.py``'s teacher, the input of
``extract_student.py`` -- goes through :func:`load_local_checkpoint`, which
calls ``torch.load(weights_only=True)`` with an allowlist of exactly the types
MMEngine / MMPretrain / MMDetection checkpoints contain besides tensors:

- NumPy arrays, dtypes (and their dtype classes) and scalars (MMEngine pickles
  the message hub's statistics and seeds as NumPy objects);
- MMEngine's :class:`~mmengine.logging.HistoryBuffer` and
  :class:`~mmengine.config.ConfigDict`;
- ``getattr``, *but only* as ``getattr(HistoryBuffer, 'min'|'max'|'mean'|'current')``:
  the pickle of a HistoryBuffer's statistics registry calls it. A shim takes the
  place of ``builtins.getattr`` and refuses every other call, so the allowlist
  does not reopen code execution.

A file that holds any other object is refused with
:class:`UntrustedCheckpointError`, naming the file and the types; nothing in it
runs. ``torch>=2.6`` needs this anyway: mmengine 0.10.7 calls ``torch.load``
without ``weights_only``, whose default became ``True``, and its own
checkpoints then fail to load. :func:`patch_mmengine_checkpoint_loader` makes
MMEngine's loader of local paths (the ``''`` scheme of
:class:`mmengine.runner.CheckpointLoader`) this function. It is called by
:func:`ssld_mm.utils.setup_runtime` -- explicitly, never by ``import ssld_mm``:
by the tools, :func:`ssld_mm.utils.register_all_modules` and
:class:`~ssld_mm.engine.runner.SSLDRunner`. Remote schemes keep torch's own
safe default.

A checkpoint that needs more (for example one that pickles a custom class) can
be trusted explicitly, per file or folder, and never globally by accident:

- the ``--trust-checkpoint PATH`` flag of ``tools/train.py``, ``tools/test.py``,
  ``tools/data/select_topk.py`` and ``tools/model_converters/extract_student.py``;
- ``trusted_checkpoints = ['PATH', ...]`` in a config (read by the tools);
- the environment variable ``SSLD_MM_TRUSTED_CHECKPOINTS`` (paths separated by
  ``os.pathsep``), which data-loader workers and distributed ranks inherit.

A trusted file is loaded with ``weights_only=False`` and a warning.
``.pdparams`` files are read by :mod:`ssld_mm.converters.pdparams` with its own
restricted unpickler.
"""
import logging
import os
import os.path as osp
import pickle
import re
import types
import warnings
import zipfile
from typing import Any, Iterable, List, Optional, Tuple, Union

import _compat_pickle
import numpy as np
import torch
from mmengine.config import ConfigDict
from mmengine.logging import HistoryBuffer
from mmengine.runner import CheckpointLoader
from mmengine.utils import digit_version

from .atomic_local_backend import is_temp_file, register_atomic_local_backend

TRUST_ENV = 'SSLD_MM_TRUSTED_CHECKPOINTS'
TRUST_FLAG = '--trust-checkpoint'
TRUST_CFG_KEY = 'trusted_checkpoints'

_HISTORY_BUFFER_STATS = ('min', 'max', 'mean', 'current')


class UntrustedCheckpointError(pickle.UnpicklingError):
    """A checkpoint holds objects outside the allowlist and was not loaded."""


def _history_buffer_getattr(obj: Any, name: str) -> Any:
    """Stands in for ``builtins.getattr`` while a checkpoint is unpickled.

    Allows exactly ``getattr(HistoryBuffer, 'min'|'max'|'mean'|'current')``.

    Raises:
        pickle.UnpicklingError: For any other object or attribute.
    """
    if obj is HistoryBuffer and name in _HISTORY_BUFFER_STATS:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'getattr({getattr(obj, "__name__", type(obj).__name__)}, {name!r}) '
        'is not allowed in a checkpoint (only HistoryBuffer statistics '
        f'{_HISTORY_BUFFER_STATS} are)')


def _numpy_scalar() -> Any:
    try:
        from numpy._core.multiarray import scalar  # numpy >= 2
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core.multiarray import scalar
    return scalar


def _numpy_reconstruct() -> Any:
    try:
        from numpy._core.multiarray import _reconstruct  # numpy >= 2
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core.multiarray import _reconstruct
    return _reconstruct


def safe_checkpoint_globals() -> List[Any]:
    """The allowlist: every non-torch type an MMEngine checkpoint contains."""
    scalar, reconstruct = _numpy_scalar(), _numpy_reconstruct()
    allowed: List[Any] = [
        np.ndarray,
        np.dtype,
        scalar,
        reconstruct,
        HistoryBuffer,
        ConfigDict,
        (_history_buffer_getattr, 'builtins.getattr'),
        # the module path numpy 1.x wrote, readable under numpy 2
        (scalar, 'numpy.core.multiarray.scalar'),
        (reconstruct, 'numpy.core.multiarray._reconstruct'),
    ]
    dtype_classes = {type(np.dtype(c)) for c in np.typecodes['All']}
    allowed.extend(sorted(dtype_classes, key=lambda t: t.__name__))
    return allowed


def _restricted_pickle_module() -> Any:
    """A ``pickle`` stand-in whose unpickler resolves only allowlisted globals.

    Used on torch < 2.6, whose ``weights_only`` loader has no way to allow
    ``(callable, name)`` pairs: torch's own allowed globals (tensor rebuild
    functions, storages, dtypes, ``OrderedDict`` ...) plus ours.
    """
    from torch._weights_only_unpickler import _get_allowed_globals
    allowed = dict(_get_allowed_globals())
    for g in safe_checkpoint_globals():
        if isinstance(g, tuple):
            allowed[g[1]] = g[0]
        else:
            allowed[f'{g.__module__}.{g.__qualname__}'] = g

    class RestrictedUnpickler(pickle.Unpickler):

        def find_class(self, module: str, name: str) -> Any:
            # protocol-2 pickles name Python 2 modules (``__builtin__``)
            if (module, name) in _compat_pickle.NAME_MAPPING:
                module, name = _compat_pickle.NAME_MAPPING[(module, name)]
            module = _compat_pickle.IMPORT_MAPPING.get(module, module)
            key = f'{module}.{name}'
            if key in allowed:
                return allowed[key]
            raise pickle.UnpicklingError(f'Unsupported global: GLOBAL {key}')

    def load(file: Any, **kwargs: Any) -> Any:
        return RestrictedUnpickler(file, **kwargs).load()

    return types.SimpleNamespace(
        __name__='ssld_mm_restricted_pickle',
        Unpickler=RestrictedUnpickler,
        load=load,
        UnpicklingError=pickle.UnpicklingError)


def _torch_has_callable_allowlist() -> bool:
    """torch >= 2.6: ``safe_globals`` accepts ``(callable, 'module.name')``."""
    return digit_version(torch.__version__) >= digit_version('2.6.0')


def _safe_load(filename: str, map_location: Any) -> Any:
    if _torch_has_callable_allowlist():
        with torch.serialization.safe_globals(safe_checkpoint_globals()):
            return torch.load(filename, map_location=map_location, weights_only=True)
    return torch.load(
        filename,
        map_location=map_location,
        weights_only=False,
        pickle_module=_restricted_pickle_module())


def _trusted_paths() -> List[str]:
    value = os.environ.get(TRUST_ENV, '')
    return [osp.realpath(osp.expanduser(p)) for p in value.split(os.pathsep) if p]


def trust_checkpoints(paths: Union[str, Iterable[str], None]) -> None:
    """Trust the given checkpoint files (or every file under given folders).

    Trusted files load with ``weights_only=False``: only for files whose origin
    you trust. Recorded in ``SSLD_MM_TRUSTED_CHECKPOINTS`` so that child
    processes inherit it.

    Args:
        paths: A path or paths of files or folders. ``None`` or empty: no-op.
    """
    if not paths:
        return
    if isinstance(paths, str):
        paths = [paths]
    current = [p for p in os.environ.get(TRUST_ENV, '').split(os.pathsep) if p]
    for p in paths:
        p = osp.abspath(osp.expanduser(str(p)))
        if p not in current:
            current.append(p)
    os.environ[TRUST_ENV] = os.pathsep.join(current)


def is_trusted(filename: str) -> bool:
    """Whether ``filename`` was trusted explicitly (itself or a folder above)."""
    real = osp.realpath(osp.expanduser(str(filename)))
    for p in _trusted_paths():
        if real == p or real.startswith(p.rstrip(os.sep) + os.sep):
            return True
    return False


def add_trust_checkpoint_arg(parser: Any) -> None:
    """Add ``--trust-checkpoint PATH`` (repeatable) to an argparse parser."""
    parser.add_argument(
        TRUST_FLAG,
        dest='trust_checkpoint',
        action='append',
        metavar='PATH',
        default=None,
        help='load this checkpoint file (or every file under this folder) with '
        'full unpickling: only for files you trust. By default checkpoints '
        'load with torch.load(weights_only=True) and an allowlist of the '
        'types MMEngine checkpoints hold. Repeatable. Same as the config key '
        f'`{TRUST_CFG_KEY}` or the environment variable {TRUST_ENV}.')


def apply_checkpoint_trust(cfg: Optional[Any] = None,
                           cli_paths: Optional[Iterable[str]] = None) -> None:
    """Apply ``--trust-checkpoint`` paths and the config's ``trusted_checkpoints``.

    Args:
        cfg: A config (dict-like) or ``None``.
        cli_paths: Paths given on the command line, or ``None``.

    Raises:
        TypeError: If ``trusted_checkpoints`` is not a path or a list of paths.
    """
    trust_checkpoints(list(cli_paths or []))
    value = cfg.get(TRUST_CFG_KEY, None) if cfg is not None else None
    if value is None:
        return
    if isinstance(value, str):
        value = [value]
    if not isinstance(value,
                      (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise TypeError(f'config key `{TRUST_CFG_KEY}` must be a path or a list '
                        f'of paths, got {value!r}')
    trust_checkpoints(value)


def _refused_types(filename: str, message: str) -> List[str]:
    """The globals of ``filename`` outside the allowlist (read, never run)."""
    allowed = {
        f'{g.__module__}.{g.__qualname__}'
        for g in safe_checkpoint_globals() if not isinstance(g, tuple)
    }
    allowed.update(g[1] for g in safe_checkpoint_globals() if isinstance(g, tuple))
    try:  # torch >= 2.5
        found = torch.serialization.get_unsafe_globals_in_checkpoint(filename)
        names = [g for g in found if g not in allowed]
        if names:
            return sorted(names)
    except Exception:  # noqa: BLE001 - legacy format: fall back to the message
        pass
    names = [
        n if '.' in n else f'builtins.{n}'
        for n in re.findall(r'GLOBAL ([\w.]+)', message)
    ]
    names += re.findall(r'getattr\([^)]*\)', message)
    return sorted(set(names))


def load_local_checkpoint(filename: str,
                          map_location: Optional[Union[str,
                                                       torch.device]] = 'cpu') -> Any:
    """Load a checkpoint file from the local file system, safely.

    ``torch.load(weights_only=True)`` with :func:`safe_checkpoint_globals`
    allowed, unless the file was trusted explicitly (:func:`is_trusted`).

    Args:
        filename (str): Path of a local file (``~`` is expanded).
        map_location: Passed to :func:`torch.load`. Defaults to ``'cpu'``.

    Returns:
        The unpickled object (usually a dict with ``state_dict`` and ``meta``).

    Raises:
        FileNotFoundError: If ``filename`` is not an existing file.
        UntrustedCheckpointError: If the file holds objects outside the
            allowlist (the message names the file, the types and the opt-in).
        RuntimeError: If the file is truncated or not a checkpoint at all
            (the message names the file).

    Example:
        >>> ckpt = load_local_checkpoint('work_dirs/r50vd_mbv3/epoch_1.pth')
        >>> ckpt['state_dict']['student.head.fc.bias'].shape
    """
    filename = osp.expanduser(str(filename))
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint file {filename!r} can not be found.')
    if is_trusted(filename):
        warnings.warn(f'loading trusted checkpoint {filename!r} with '
                      'weights_only=False: code in the file can run')
        return torch.load(filename, map_location=map_location, weights_only=False)
    try:
        return _safe_load(filename, map_location)
    except pickle.UnpicklingError as e:
        refused = _refused_types(filename, str(e))
        if not refused:
            raise RuntimeError(f'checkpoint file {filename!r} is unreadable '
                               f'(truncated or not a checkpoint): {e}') from e
        raise UntrustedCheckpointError(
            f'refused to load checkpoint {filename!r}: it contains '
            f'{", ".join(refused)}, '
            'which is not among the types checkpoints are allowed to hold '
            '(tensors, NumPy arrays/dtypes/scalars, MMEngine HistoryBuffer and '
            'ConfigDict). Unpickling other objects can run code. Only if you '
            f'trust this file: pass {TRUST_FLAG} {filename}, or set '
            f'`{TRUST_CFG_KEY}` in the config or {TRUST_ENV}.') from None
    except Exception as e:  # noqa: BLE001 - any decoder error: unreadable
        raise RuntimeError(f'checkpoint file {filename!r} is unreadable '
                           f'(truncated or not a checkpoint): '
                           f'{type(e).__name__}: {e}') from e


def check_checkpoint_file(filename: str) -> None:
    """Check that a checkpoint file is complete, without unpickling it.

    A zip checkpoint (torch >= 1.6) must open and pass the CRC check of every
    member; a legacy one is loaded with :func:`load_local_checkpoint`.

    Raises:
        FileNotFoundError: If the file does not exist.
        RuntimeError: If it is truncated or not a checkpoint (names the file).
    """
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint file {filename!r} can not be found.')
    if osp.getsize(filename) == 0:
        raise RuntimeError(f'checkpoint file {filename!r} is empty')
    if not zipfile.is_zipfile(filename):
        load_local_checkpoint(filename)
        return
    try:
        with zipfile.ZipFile(filename) as zf:
            bad = zf.testzip()
            names = zf.namelist()
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise RuntimeError(f'checkpoint file {filename!r} is unreadable '
                           f'(truncated?): {e}') from e
    if bad is not None:
        raise RuntimeError(f'checkpoint file {filename!r} is corrupt: '
                           f'CRC mismatch in {bad!r}')
    if not any(n.endswith('/data.pkl') or n == 'data.pkl' for n in names):
        raise RuntimeError(f'checkpoint file {filename!r} is a zip file but '
                           'not a torch checkpoint (no data.pkl)')


def _checkpoint_order(path: str) -> Tuple[int, int]:
    """Newest first: the step number in ``epoch_N``/``iter_N``, then mtime."""
    match = re.search(r'(?:epoch|iter)_(\d+)\.pth$', osp.basename(path))
    return (int(match.group(1)) if match else -1, os.stat(path).st_mtime_ns)


def find_resumable_checkpoint(work_dir: str) -> Optional[str]:
    """The newest complete checkpoint of ``work_dir`` (what ``--resume`` uses).

    Candidates are the file named in ``work_dir/last_checkpoint`` and every
    ``*.pth`` in ``work_dir`` except ``best_*`` and temporary files, newest
    first. A truncated or unreadable one is skipped with a warning naming it
    (a kill during a save, a full disk ...). Leftover temporary files of
    interrupted saves are removed. Replaces MMEngine's
    :func:`~mmengine.runner.find_latest_checkpoint` (see
    :func:`patch_mmengine_checkpoint_loader`).

    Args:
        work_dir (str): The run's work directory.

    Returns:
        str | None: The checkpoint to resume from, or ``None`` (with a
        warning that a fresh run starts) when there is none.

    Raises:
        UntrustedCheckpointError: If the newest complete checkpoint holds types
            outside the allowlist (an attack is not a crash: never skipped).
    """
    from mmengine.dist import is_main_process
    from mmengine.logging import print_log

    def warn(msg: str) -> None:
        print_log(msg, logger='current', level=logging.WARNING)

    candidates = set()
    pointer = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(pointer):
        with open(pointer) as f:
            named = f.read().strip()
        if named and osp.isfile(named):
            candidates.add(osp.abspath(named))
        else:
            warn(f'--resume: {pointer} names {named!r}, which is not a file; '
                 f'looking for other checkpoints in {work_dir}')
    if osp.isdir(work_dir):
        for name in sorted(os.listdir(work_dir)):
            path = osp.join(work_dir, name)
            if is_temp_file(name):
                if is_main_process():
                    warn(f'--resume: removing {path}, left by an interrupted '
                         'checkpoint save')
                    try:
                        os.remove(path)
                    except OSError:
                        pass
                continue
            if name.endswith('.pth') and not name.startswith('best_') \
                    and osp.isfile(path):
                candidates.add(osp.abspath(path))
    for path in sorted(candidates, key=_checkpoint_order, reverse=True):
        try:
            check_checkpoint_file(path)
        except (RuntimeError, FileNotFoundError) as e:
            warn(f'--resume: skipping {path}: {e}')
            continue
        return path
    warn(f'--resume: no checkpoint found in {work_dir!r} (no last_checkpoint, '
         'no readable *.pth): starting a fresh run from the beginning.')
    return None


def patch_mmengine_checkpoint_loader() -> None:
    """Route MMEngine's checkpoint I/O through ssld_mm (process-wide).

    - local checkpoints load with :func:`load_local_checkpoint` (the ``''``
      scheme of :class:`mmengine.runner.CheckpointLoader`);
    - local files are written atomically
      (:class:`~ssld_mm.utils.atomic_local_backend.AtomicLocalBackend`);
    - auto resume (``resume=True`` without ``load_from``) uses
      :func:`find_resumable_checkpoint`.

    Idempotent. One half of :func:`ssld_mm.utils.setup_runtime`, the entry
    point to call (``import ssld_mm`` does not).
    """
    if CheckpointLoader._schemes.get('') is not load_local_checkpoint:
        CheckpointLoader.register_scheme(
            prefixes='', loader=load_local_checkpoint, force=True)
    register_atomic_local_backend()
    import mmengine.runner._flexible_runner as flexible_runner_module
    import mmengine.runner.runner as runner_module
    runner_module.find_latest_checkpoint = find_resumable_checkpoint
    flexible_runner_module.find_latest_checkpoint = find_resumable_checkpoint
