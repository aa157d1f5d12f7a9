from .det_auto_augment_v1 import DetAutoAugmentV1
from .replay_stored_view import ReplayStoredView, iter_dataset_transforms

__all__ = ['DetAutoAugmentV1', 'ReplayStoredView', 'iter_dataset_transforms']
