from .image_list import (ImageListEntry, ImageListError, format_entry, iter_image_list,
                         read_image_list, resolve_image_path)
from .image_list_dataset import ImageListDataset
from .indices import load_indices, save_indices, split_indices
from .soft_label_store import SoftLabelStore, fill_distribution, select_view
from .subset_dataset import SubsetDataset
from .transforms import *  # noqa: F401,F403
from .unlabeled_dataset import UnlabeledDataset

__all__ = [
    'ImageListEntry', 'ImageListError', 'iter_image_list', 'read_image_list',
    'resolve_image_path', 'format_entry', 'ImageListDataset', 'SubsetDataset',
    'UnlabeledDataset', 'load_indices', 'save_indices', 'split_indices',
    'SoftLabelStore', 'select_view', 'fill_distribution'
]
