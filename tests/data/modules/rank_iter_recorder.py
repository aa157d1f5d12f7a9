"""A test-only hook: every rank appends the images of each training iteration
to ``<out_dir>/rank<R>_of<W>.txt`` (R = rank, W = world size).

The 2-process tests import it through ``custom_imports`` (with this folder on
``PYTHONPATH``) to check that each process trained its own share of the data.
"""
import os
import os.path as osp

from mmengine.dist import get_rank, get_world_size
from mmengine.hooks import Hook

from ssld_mm.registry import HOOKS


@HOOKS.register_module()
class RankIterRecorder(Hook):
    """Record, per rank, the ``img_path`` of every sample of every train iter.

    Args:
        out_dir (str): Folder for the per-rank files.

    Example:
        >>> custom_hooks = [dict(type='RankIterRecorder', out_dir='/tmp/ranks')]
    """

    def __init__(self, out_dir: str) -> None:
        self.out_dir = out_dir

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        os.makedirs(self.out_dir, exist_ok=True)
        name = f'rank{get_rank()}_of{get_world_size()}.txt'
        paths = [s.img_path for s in data_batch['data_samples']]
        with open(osp.join(self.out_dir, name), 'a') as f:
            f.write(' '.join(paths) + '\n')
