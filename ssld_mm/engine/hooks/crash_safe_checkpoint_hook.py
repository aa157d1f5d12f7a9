"""MMEngine's CheckpointHook, with outdated checkpoints removed only after a save."""
from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook

from ssld_mm.registry import HOOKS


@HOOKS.register_module()
class CrashSafeCheckpointHook(CheckpointHook):
    """A :class:`~mmengine.hooks.CheckpointHook` that never has fewer good
    checkpoints on disk than before a save.

    MMEngine's hook deletes the oldest checkpoint beyond ``max_keep_ckpts``
    *before* it writes the new one, so a kill during the save (with
    ``max_keep_ckpts=1``: at any save) can leave no checkpoint at all. This hook
    writes the new checkpoint first (atomically once
    :func:`ssld_mm.utils.setup_runtime` has made MMEngine's local file backend
    write a temporary file and rename it: the tools and ``SSLDRunner`` call
    it), then ``last_checkpoint``, and only then deletes what
    ``max_keep_ckpts`` drops. The list of kept
    checkpoints stored in the checkpoint (``keep_ckpt_ids``) is the one after
    the save, as in MMEngine, so resumed runs prune the same files.

    Args:
        **kwargs: The arguments of :class:`mmengine.hooks.CheckpointHook`.

    Example:
        >>> default_hooks = dict(checkpoint=dict(
        ...     type='CrashSafeCheckpointHook', interval=1, max_keep_ckpts=3))
    """

    def _save_checkpoint_with_step(self, runner, step, meta) -> None:
        """Save, then prune (MMEngine prunes first)."""
        keep = self.max_keep_ckpts
        drop = []
        if keep > 0 and not (self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == keep:
                drop.append(self.keep_ckpt_ids.popleft())
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))
        self.max_keep_ckpts = -1  # the parent saves without pruning
        try:
            super()._save_checkpoint_with_step(runner, step, meta)
        finally:
            self.max_keep_ckpts = keep
        if not is_main_process():
            return
        for old in drop:
            path = self.file_backend.join_path(self.out_dir,
                                               self.filename_tmpl.format(old))
            if self.file_backend.isfile(path):
                self.file_backend.remove(path)
            elif self.file_backend.isdir(path):  # deepspeed saves folders
                self.file_backend.rmtree(path)
