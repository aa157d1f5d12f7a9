from .fix_res_hook import FixResHook
from .teacher_accuracy_hook import TeacherAccuracyHook

__all__ = ['FixResHook', 'TeacherAccuracyHook']
