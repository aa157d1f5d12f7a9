"""Failures of the tools: checked early, and ended with one actionable line.

``tools/train.py`` and ``tools/test.py`` check the files a config names before
the Runner starts (:func:`check_config_files`), and run inside
:func:`report_failures`, which writes the traceback to a file (on the console
too with ``--verbose`` or ``SSLD_MM_VERBOSE=1``) and prints, as the very last
line, ``ERROR: <config key or cause>: <problem> -> <what to do>``.
"""
import contextlib
import os
import os.path as osp
import sys
import tempfile
import traceback
from typing import Any, Iterator, List, Optional, Sequence, Tuple


class ConfigError(ValueError):
    """A config value is wrong; names the key and what to do.

    Args:
        key (str): The config key (dotted, e.g. ``model.teacher_ckpt``) or
            the command-line argument (e.g. ``CHECKPOINT``).
        problem (str): What is wrong with its value.
        hint (str): What to do about it.

    Example:
        >>> raise ConfigError('model.teacher_ckpt',
        ...                   "file 'x.pth' does not exist",
        ...                   'pass --cfg-options model.teacher_ckpt=PATH')
    """

    def __init__(self, key: str, problem: str, hint: str) -> None:
        self.key, self.problem, self.hint = key, problem, hint
        super().__init__(f'{key}: {problem} -> {hint}')


def _is_local(path: Any) -> bool:
    return isinstance(path, str) and bool(path) and '://' not in path


def _iter_dicts(node: Any, key: str) -> Iterator[Tuple[str, dict]]:
    """Every dict inside ``node`` (dicts and lists), with its dotted key."""
    if isinstance(node, dict):
        yield key, node
        for k, v in node.items():
            yield from _iter_dicts(v, f'{key}.{k}' if key else str(k))
    elif isinstance(node, (list, tuple)):
        for i, v in enumerate(node):
            yield from _iter_dicts(v, f'{key}.{i}')


def _missing_dataset_files(loader_key: str, loader: Any) -> List[ConfigError]:
    errors = []
    dataset = loader.get('dataset') if isinstance(loader, dict) else None
    for key, node in _iter_dicts(dataset, f'{loader_key}.dataset'):
        root = node.get('data_root', '')
        if _is_local(root) and not osp.isdir(root):
            errors.append(
                ConfigError(
                    f'{key}.data_root', f'folder {root!r} does not exist',
                    f'point it to your data: --cfg-options {key}.data_root=DIR'))
            continue
        ann = node.get('ann_file', '')
        if _is_local(ann):
            full = ann if osp.isabs(ann) or not _is_local(root) \
                else osp.join(root, ann)
            if not osp.isfile(full):
                errors.append(
                    ConfigError(
                        f'{key}.ann_file', f'file {full!r} does not exist',
                        f'set it (relative to data_root {root!r}): --cfg-options '
                        f'{key}.ann_file=FILE'))
    return errors


def check_config_files(cfg: Any,
                       loaders: Sequence[str] = (),
                       checkpoint_key: Optional[str] = None) -> None:
    """Check that the local files a config names exist, before any work.

    Checked: ``model.teacher_ckpt`` and a ``model.teacher`` given as a config
    file, every ``init_cfg=dict(type='Pretrained', checkpoint=...)`` inside
    ``model``, ``load_from`` (unless resuming automatically), and for each
    dataloader in ``loaders`` the ``data_root`` folders and ``ann_file``
    files of its dataset (nested datasets included). URLs and empty values
    are skipped.

    Args:
        cfg (Config | dict): The config.
        loaders (Sequence[str]): Dataloader keys the tool uses, e.g.
            ``('train_dataloader', 'val_dataloader')``.
        checkpoint_key (str, optional): Name of ``load_from`` in the error
            (``tools/test.py`` passes ``'CHECKPOINT'``, its argument).

    Raises:
        ConfigError: For the first missing file, naming the config key and
            how to set it.
    """
    model = cfg.get('model') or {}
    model = model if isinstance(model, dict) else {}
    # (config key, path, kind of file, what to do)
    files = [
        ('model.teacher_ckpt', model.get('teacher_ckpt'), 'checkpoint',
         'download or convert the teacher (README: "Use PaddleClas SSLD '
         'weights") and pass --cfg-options model.teacher_ckpt=PATH'),
        ('model.teacher', model.get('teacher'), 'config',
         'give a config file path (relative to the current folder) or a '
         'model dict'),
    ]
    files += [(f'{key}.checkpoint', node.get('checkpoint'), 'checkpoint',
               f'pass --cfg-options {key}.checkpoint=PATH')
              for key, node in _iter_dicts(model, 'model')
              if node.get('type') == 'Pretrained']
    files.append((checkpoint_key or 'load_from', cfg.get('load_from'), 'checkpoint',
                  'pass an existing checkpoint file' if checkpoint_key else
                  'pass --cfg-options load_from=PATH (or load_from=None)'))
    errors: List[ConfigError] = [
        ConfigError(key, f'{kind} file {path!r} does not exist', hint)
        for key, path, kind, hint in files if _is_local(path) and not osp.isfile(path)
    ]
    for loader_key in loaders:
        errors.extend(_missing_dataset_files(loader_key, cfg.get(loader_key)))
    if errors:
        raise errors[0]


def one_line_error(exc: BaseException) -> str:
    """``<key or cause>: <problem> -> <what to do>`` on one line.

    :class:`ConfigError` names its key; a few common upstream errors get a
    hint (an unregistered ``type``, a module of ``custom_imports`` that
    cannot be imported, a missing file); anything else is
    ``<ExceptionType>: <first line of the message>``.
    """

    def flat(text: str) -> str:
        return ' '.join(str(text).split())

    if isinstance(exc, ConfigError):
        return flat(str(exc))
    message = flat(exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc))
    name = type(exc).__name__
    if isinstance(exc, KeyError) and 'registry' in message:
        return (f'a `type` of the config is not registered: {message} -> '
                'check the spelling, the scope (e.g. "mmpretrain.ResNet") and '
                "that custom_imports imports the module that registers it")
    if isinstance(exc, ImportError):
        return (f'custom_imports: {name}: {message} -> make the module '
                'importable: put it next to the config or in the current '
                'folder (the tools import from both), or add its folder to '
                'the Python path')
    if isinstance(exc, FileNotFoundError):
        return (f'{name}: {message} -> check the path; relative paths start '
                f'from the current folder {os.getcwd()!r}')
    return f'{name}: {message} -> see the traceback'


@contextlib.contextmanager
def report_failures(tool: str) -> Iterator[None]:
    """Run a tool's main; on failure, end the output with one ``ERROR:`` line.

    The traceback goes to a file in the temporary folder (named on the line
    before the last) or, with ``--verbose`` on the command line or
    ``SSLD_MM_VERBOSE=1``, to stderr instead; then
    ``ERROR: <tool>: <one_line_error>`` is printed as the last line and the
    process exits with status 1.
    ``KeyboardInterrupt`` and ``SystemExit`` pass through unchanged.

    Args:
        tool (str): Name shown in the line, e.g. ``'train.py'``.

    Example:
        >>> with report_failures('train.py'):
        ...     main()
    """
    try:
        yield
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:  # noqa: BLE001 (every failure gets the line)
        sys.stdout.flush()
        text = traceback.format_exc()
        if '--verbose' in sys.argv or os.environ.get('SSLD_MM_VERBOSE') == '1':
            print(text, end='', file=sys.stderr)
        else:
            print(
                f'(full traceback: {_save_traceback(tool, text)}; '
                '--verbose or SSLD_MM_VERBOSE=1 prints it)',
                file=sys.stderr)
        print(f'ERROR: {tool}: {one_line_error(exc)}', file=sys.stderr, flush=True)
        raise SystemExit(1) from None


def _save_traceback(tool: str, text: str) -> str:
    """Write ``text`` to ``<tmp>/ssld_mm_<tool>_<pid>.traceback.txt``."""
    name = f'ssld_mm_{osp.splitext(tool)[0]}_{os.getpid()}.traceback.txt'
    path = osp.join(tempfile.gettempdir(), name)
    try:
        with open(path, 'w') as f:
            f.write(text)
    except OSError:  # the ERROR line still follows
        return f'not saved ({osp.dirname(path)} is not writable)'
    return path
