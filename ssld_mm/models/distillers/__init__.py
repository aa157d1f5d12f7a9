from .ssld_distiller import SSLDDistiller, load_teacher_weights
from .teacher_renormalize import TeacherRenormalize

__all__ = ['SSLDDistiller', 'TeacherRenormalize', 'load_teacher_weights']
