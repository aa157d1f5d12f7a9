"""Use (part of) a labeled dataset as an unlabeled pool."""
from ssld_mm.registry import DATASETS
from .subset_dataset import SubsetDataset


@DATASETS.register_module()
class UnlabeledDataset(SubsetDataset):
    """Samples of any dataset with their labels removed before the pipeline.

    ``gt_label`` (and ``gt_score``) are dropped from each selected sample's
    data info, so MMPretrain's ``PackInputs`` makes ``DataSample`` objects
    without labels: the distiller then learns them from the teacher only.
    ``indices`` picks the samples exactly as in :class:`SubsetDataset`
    (first ``k``, a list, or a ``.txt``/``.npy`` index file); by default all
    samples are used. A sample that the pipeline drops (returns None) is
    replaced by another sample of the same subset, never by one from outside
    it (see :class:`SubsetDataset`).

    Recipe "labeled subset L + the rest U as unlabeled" on Fashion-MNIST,
    with two disjoint index files written by
    :func:`ssld_mm.datasets.split_indices` / :func:`save_indices`. Both parts
    wrap the same dataset, so their ``metainfo`` (classes) match, as
    ``ConcatDataset`` requires.

    Args:
        dataset (dict | BaseDataset): The wrapped dataset or its config.
        indices (int | Sequence[int] | str, optional): Selected samples.
            Defaults to None (all).
        lazy_init (bool): Defer loading. Defaults to False.

    Example:
        >>> fmnist = dict(type='mmpretrain.FashionMNIST',
        ...               data_root='data/fashion_mnist', split='train',
        ...               pipeline=train_pipeline)
        >>> train_dataloader = dict(
        ...     batch_size=128,
        ...     sampler=dict(type='DefaultSampler', shuffle=True),
        ...     dataset=dict(type='ConcatDataset', datasets=[
        ...         dict(type='SubsetDataset', dataset=fmnist,
        ...              indices='data/fashion_mnist/labeled_idx.txt'),
        ...         dict(type='UnlabeledDataset', dataset=fmnist,
        ...              indices='data/fashion_mnist/unlabeled_idx.txt'),
        ...     ]))
    """

    LABEL_KEYS = ('gt_label', 'gt_score')
