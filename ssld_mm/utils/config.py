"""Load a config file with errors that name the file and what is wrong."""
import os.path as osp
from typing import Sequence

from mmengine.config import Config


def load_config_file(path: str,
                     what: str = 'config',
                     require: Sequence[str] = ()) -> Config:
    """``Config.fromfile`` that fails clearly on a missing file or key.

    Args:
        path (str): The config file.
        what (str): What the file is, for messages (``'teacher config'``).
            Defaults to ``'config'``.
        require (Sequence[str]): Top-level keys the caller needs.

    Raises:
        FileNotFoundError: ``"<what> file '<path>' does not exist"``.
        ValueError: ``"<what> '<path>' has no `<key>` key"``.

    Example:
        >>> cfg = load_config_file('configs/paddleclas/resnet50_vd.py',
        ...                        'teacher config', require=('model', ))
    """
    if not isinstance(path, str) or not osp.isfile(path):
        raise FileNotFoundError(f'{what} file {path!r} does not exist')
    cfg = Config.fromfile(path)
    for key in require:
        if key not in cfg:
            raise ValueError(f'{what} {path!r} has no `{key}` key')
    return cfg
