"""A classification data preprocessor for batches mixing labeled and unlabeled images."""
from typing import Optional

from mmengine.logging import print_log
from mmpretrain.models.utils import ClsDataPreprocessor

from ssld_mm.registry import MODELS


@MODELS.register_module()
class SSLDDataPreprocessor(ClsDataPreprocessor):
    """MMPretrain's ``ClsDataPreprocessor`` that accepts unlabeled samples.

    MMPretrain's preprocessor decides from the *first* sample whether the batch
    has labels, so a batch that mixes labeled and unlabeled images (the SSLD
    training set) fails. This one stacks and normalises exactly like its parent
    and keeps each sample's own ``gt_label`` (or its absence). Batch augments
    (Mixup/CutMix) need labels on every sample: they run on fully labeled
    batches and are skipped, with a one-time warning, on mixed ones.

    Args:
        **kwargs: The arguments of :class:`mmpretrain.models.ClsDataPreprocessor`
            (``mean``, ``std``, ``to_rgb``, ``num_classes``, ``batch_augments`` ...).

    Example:
        >>> data_preprocessor = dict(
        ...     type='SSLDDataPreprocessor', num_classes=1000,
        ...     mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
        ...     to_rgb=True)
    """

    _warned_mixed = False

    def forward(self, data: dict, training: bool = False) -> dict:
        samples: Optional[list] = data.get('data_samples', None)
        if not samples:
            return super().forward(data, training)
        labeled = ['gt_label' in s for s in samples]
        if all(labeled):
            return super().forward(data, training)
        if any(labeled) and training and self.batch_augments is not None \
                and not SSLDDataPreprocessor._warned_mixed:
            print_log(
                'SSLDDataPreprocessor: batch augments are skipped on batches '
                'that mix labeled and unlabeled samples.',
                logger='current', level=30)
            SSLDDataPreprocessor._warned_mixed = True
        # Hide the labels from the parent, then give them back.
        hidden = {}
        for i, s in enumerate(samples):
            if labeled[i]:
                hidden[i] = s.gt_label
                del s.gt_label
        batch_augments, self.batch_augments = self.batch_augments, None
        try:
            out = super().forward(data, training)
        finally:
            self.batch_augments = batch_augments
            for i, label in hidden.items():
                samples[i].set_gt_label(label)
        for i, label in hidden.items():
            out['data_samples'][i].set_gt_label(label.to(out['inputs'].device))
        return out
