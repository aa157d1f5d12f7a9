"""List and count the images ImageListDataset skipped, in the work dir and log."""
import os.path as osp
from typing import Iterator, Optional

from mmengine.dist import is_main_process
from mmengine.hooks import Hook

from ssld_mm.datasets.bad_images import BAD_IMAGE_REPORT, read_report
from ssld_mm.registry import HOOKS


def _image_list_datasets(dataset) -> Iterator:
    """ImageListDatasets inside wrappers (ConcatDataset, RepeatDataset ...)."""
    from ssld_mm.datasets import ImageListDataset
    if isinstance(dataset, ImageListDataset):
        yield dataset
    for child in getattr(dataset, 'datasets', None) or ():
        yield from _image_list_datasets(child)
    inner = getattr(dataset, 'dataset', None)
    if inner is not None and inner is not dataset:
        yield from _image_list_datasets(inner)


@HOOKS.register_module()
class BadImageHook(Hook):
    """Report the bad images ``ImageListDataset(on_bad_image='skip')`` replaced.

    Before training, every such dataset of ``train_dataloader`` (also inside
    ``ConcatDataset`` and other wrappers) gets ``<work_dir>/bad_images.txt``
    as its report: data-loader workers and ranks append one line per distinct
    bad image (``list:line<TAB>path<TAB>reason``). After each epoch (and every
    ``interval`` iterations of an iteration-based loop) the main process logs
    one warning with the count when new bad images appeared. A run without
    ``'skip'`` datasets is untouched. It is one of the default hooks of
    ``configs/_base_/default_runtime.py``.

    Args:
        interval (int): For iteration-based loops: check every this many
            iterations. Defaults to 1000.
        report (str, optional): Report file name, relative to the work dir.
            Defaults to ``'bad_images.txt'``.

    Example:
        >>> default_hooks = dict(bad_images=dict(type='BadImageHook'))
    """

    priority = 'LOW'

    def __init__(self, interval: int = 1000, report: Optional[str] = None) -> None:
        if not isinstance(interval, int) or interval < 1:
            raise ValueError(f'interval must be a positive int, got {interval!r}')
        self.interval = interval
        self.report_name = report or BAD_IMAGE_REPORT
        self.report: Optional[str] = None
        self._logged = 0

    def before_train(self, runner) -> None:
        loader = runner.train_dataloader
        dataset = getattr(loader, 'dataset', None)
        skipping = [
            d for d in _image_list_datasets(dataset) if d.on_bad_image == 'skip'
        ]
        if not skipping:
            return
        self.report = osp.join(runner.work_dir, self.report_name)
        for d in skipping:
            d.bad_image_report = self.report
        self._logged = len(read_report(self.report))

    def _log(self, runner, when: str) -> None:
        if self.report is None or not is_main_process():
            return
        entries = read_report(self.report)
        if len(entries) > self._logged:
            runner.logger.warning(
                f'{when}: {len(entries) - self._logged} new bad image(s) '
                f'skipped and replaced, {len(entries)} so far; listed in '
                f'{self.report} (list:line, image, reason)')
            self._logged = len(entries)

    def after_train_epoch(self, runner) -> None:
        self._log(runner, f'epoch {runner.epoch + 1}')  # 0-based here

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        if not runner.train_loop.__class__.__name__.startswith('Iter'):
            return
        if self.every_n_train_iters(runner, self.interval):
            self._log(runner, f'iteration {runner.iter + 1}')

    def after_train(self, runner) -> None:
        self._log(runner, 'end of training')
