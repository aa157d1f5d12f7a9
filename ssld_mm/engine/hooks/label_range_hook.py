"""Labels of the training lists must fit the model: checked before training."""
from typing import Optional

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from ssld_mm.registry import HOOKS


def _model_num_classes(model) -> Optional[tuple]:
    """``(num_classes, config key)`` of a classifier or an SSLD distiller."""
    for key, owner in (('model.student.head.num_classes',
                        getattr(getattr(model, 'student', None), 'head',
                                None)), ('model.head.num_classes',
                                         getattr(model, 'head', None))):
        n = getattr(owner, 'num_classes', None)
        if isinstance(n, int):
            return n, key
    return None


@HOOKS.register_module()
class LabelRangeHook(Hook):
    """Stop before training when a training list has a label the model cannot
    predict (``label >= num_classes``), naming ``list:line``.

    :class:`~ssld_mm.datasets.ImageListDataset` checks labels against its own
    ``classes`` when it has them; the SSLD recipes' lists have none (ImageNet's
    1000 names), so this hook compares the largest label of every
    ImageListDataset in ``train_dataloader`` (recorded while the list loads,
    no extra pass) with the classifier's or the distiller student's
    ``head.num_classes``. A default hook of ``configs/_base_/default_runtime.py``.

    Example:
        >>> default_hooks = dict(label_range=dict(type='LabelRangeHook'))
    """

    priority = 'VERY_HIGH'

    def before_train(self, runner) -> None:
        from ssld_mm.datasets.image_list import ImageListError
        from .bad_image_hook import _image_list_datasets
        model = runner.model.module if is_model_wrapper(runner.model) \
            else runner.model
        found = _model_num_classes(model)
        if found is None:
            return
        num_classes, key = found
        dataset = getattr(runner.train_dataloader, 'dataset', None)
        for d in _image_list_datasets(dataset):
            d.full_init()
            label, where = getattr(d, 'max_label', (-1, ''))
            if label >= num_classes:
                raise ImageListError(
                    f'{where}: label {label} is out of range for the model\'s '
                    f'{num_classes} classes ({key}); fix the list or the '
                    'number of classes')
