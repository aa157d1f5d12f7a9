"""Tell the stored-view replay which epoch it is."""
from typing import List

from mmengine.hooks import Hook
from mmengine.runner import EpochBasedTrainLoop

from ssld_mm.registry import HOOKS


@HOOKS.register_module()
class StoredViewEpochHook(Hook):
    """Set the epoch of every ``ReplayStoredView`` of the train pipeline.

    Stored-teacher training replays one stored view per image per epoch,
    chosen from ``(sample_idx, epoch, seed)``. Before each training epoch this
    hook passes ``runner.epoch`` to the transforms (through shared memory, so
    DataLoader workers, persistent or not, see it); after ``--resume`` the
    runner's epoch is the resumed one, so the run replays exactly the views an
    uninterrupted run would have.

    Before training it also checks the store against datasets that did not
    check it themselves (``ImageListDataset`` does when it loads): entry
    count, list contents (when the dataset has an ``ann_file``), crop size.

    Raises (at ``before_train``):
        ValueError: If the train dataset has no ``ReplayStoredView`` (the hook
            would do nothing), the train loop is not epoch based (views
            change by epoch), or a store does not match its dataset.

    Example:
        >>> custom_hooks = [dict(type='ssld_mm.StoredViewEpochHook')]
    """

    priority = 'NORMAL'

    def __init__(self) -> None:
        self._transforms: List[object] = []

    def before_train(self, runner) -> None:
        from ssld_mm.datasets.transforms import (ReplayStoredView,
                                                 iter_dataset_transforms)
        if not isinstance(runner.train_loop, EpochBasedTrainLoop):
            raise ValueError('StoredViewEpochHook: stored-view replay chooses views by '
                             'epoch and needs an epoch-based train loop (train_cfg='
                             f'dict(by_epoch=True, ...)), got '
                             f'{type(runner.train_loop).__name__}')
        dataset = runner.train_dataloader.dataset
        found = [(ds, t) for ds, t in iter_dataset_transforms(dataset)
                 if isinstance(t, ReplayStoredView)]
        for ds, t in found:
            if not t.checked:  # ImageListDataset checks when it loads
                t.check_dataset(getattr(ds, 'ann_file', '') or '', len(ds))
        self._transforms = [t for _, t in found]
        if not self._transforms:
            raise ValueError(
                'StoredViewEpochHook: the train dataset '
                f'({type(dataset).__name__}) has no ssld_mm.ReplayStoredView '
                'in its pipeline: remove the hook or switch the pipeline to '
                'the stored views')

    def before_train_epoch(self, runner) -> None:
        for t in self._transforms:
            t.set_epoch(runner.epoch)
