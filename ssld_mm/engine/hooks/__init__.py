from .bad_image_hook import BadImageHook
from .crash_safe_checkpoint_hook import CrashSafeCheckpointHook
from .finite_loss_hook import FiniteLossHook, NonFiniteLossError
from .fix_res_hook import FixResHook
from .label_range_hook import LabelRangeHook
from .stored_view_epoch_hook import StoredViewEpochHook
from .teacher_accuracy_hook import TeacherAccuracyHook

__all__ = [
    'BadImageHook', 'CrashSafeCheckpointHook', 'FiniteLossHook', 'NonFiniteLossError',
    'FixResHook', 'LabelRangeHook', 'StoredViewEpochHook', 'TeacherAccuracyHook'
]
