"""A classification data preprocessor for batches mixing labeled and unlabeled
images."""
import logging
from typing import Optional

import torch
from mmengine.logging import print_log
from mmpretrain.models.utils import ClsDataPreprocessor

from ssld_mm.registry import MODELS


@MODELS.register_module()
class SSLDDataPreprocessor(ClsDataPreprocessor):
    """MMPretrain's ``ClsDataPreprocessor`` that accepts unlabeled samples.

    MMPretrain's preprocessor decides from the *first* sample whether the batch
    has labels, so a batch that mixes labeled and unlabeled images (the SSLD
    training set) fails. This one stacks and normalises exactly like its parent
    and keeps each sample's own ``gt_label`` (or its absence). The same holds
    for ``gt_score`` (the soft target of the soft-label heads: a list of
    soft-labeled and label-only images mixes both). Batch augments
    (Mixup/CutMix) need the target on every sample: they run on batches where
    every sample has it and are skipped, with a one-time warning, on mixed
    ones.

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
        # A field is "mixed" when some samples have it and others do not
        # (labeled + unlabeled images; soft-labeled + label-only images).
        mixed = [
            f for f in ('gt_label', 'gt_score')
            if any(f in s for s in samples) and not all(f in s for s in samples)
        ]
        if not mixed:
            return super().forward(data, training)
        if training and self.batch_augments is not None \
                and not SSLDDataPreprocessor._warned_mixed:
            print_log(
                'SSLDDataPreprocessor: batch augments are skipped on batches '
                'that mix labeled and unlabeled samples (or samples with and '
                'without gt_score).',
                logger='current',
                level=logging.WARNING)
            SSLDDataPreprocessor._warned_mixed = True
        # Hide the mixed fields from the parent, then give them back.
        hidden = {}
        for i, s in enumerate(samples):
            for f in mixed:
                if f in s:
                    hidden[i, f] = s.get(f)
                    delattr(s, f)
        batch_augments, self.batch_augments = self.batch_augments, None
        to_onehot, self.to_onehot = self.to_onehot, False
        try:
            out = super().forward(data, training)
        finally:
            self.batch_augments = batch_augments
            self.to_onehot = to_onehot
            for (i, f), value in hidden.items():
                samples[i].set_field(value, f, dtype=torch.Tensor)
        device = out['inputs'].device
        for (i, f), value in hidden.items():
            out['data_samples'][i].set_field(value.to(device), f, dtype=torch.Tensor)
        return out
