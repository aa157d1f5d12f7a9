"""Loading MMEngine checkpoints under torch >= 2.6.

torch 2.6 changed the default of ``torch.load(weights_only=...)`` to ``True``;
mmengine 0.10.7 calls ``torch.load(filename, map_location=...)`` without the
argument, so its own checkpoints (which pickle numpy arrays, ``HistoryBuffer``
objects of the message hub, config dicts ...) no longer load and ``--resume``
breaks. We fix it once, here: the loader MMEngine uses for *local paths* (the
``''`` scheme of :class:`mmengine.runner.CheckpointLoader`) is replaced by one that
passes ``weights_only=False``. Remote schemes (``http://``, ``s3://`` ...) keep
torch's safe default, because a pickle from the network is not trusted.

:func:`load_local_checkpoint` is the one function the rest of ssld_mm uses to
read a checkpoint file from disk.
"""
import os.path as osp
from typing import Any, Optional, Union

import torch
from mmengine.runner import CheckpointLoader

_PATCHED = False


def load_local_checkpoint(filename: str,
                          map_location: Optional[Union[str, torch.device]] = 'cpu'
                          ) -> Any:
    """Load a trusted checkpoint file from the local file system.

    Args:
        filename (str): Path of a local file (``~`` is expanded).
        map_location: Passed to :func:`torch.load`. Defaults to ``'cpu'``.

    Returns:
        The unpickled object (usually a dict with ``state_dict`` and ``meta``).

    Raises:
        FileNotFoundError: If ``filename`` is not an existing file.
    """
    filename = osp.expanduser(str(filename))
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint file {filename!r} can not be found.')
    # Local files are written by the user's own runs or converters: trusted.
    return torch.load(filename, map_location=map_location, weights_only=False)


def patch_mmengine_checkpoint_loader() -> None:
    """Make MMEngine load local checkpoints with ``weights_only=False``.

    Idempotent; called when :mod:`ssld_mm` is imported.
    """
    global _PATCHED
    if _PATCHED:
        return
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_local_checkpoint, force=True)
    _PATCHED = True
