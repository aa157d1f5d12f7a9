"""Convert the student's normalised input into the teacher's normalisation."""
from typing import Optional, Sequence

import torch
from torch import nn

_ALLOWED_KEYS = {'mean', 'std', 'to_rgb', 'type'}


class TeacherRenormalize(nn.Module):
    """``y = (flip?(x * src_std + src_mean) - dst_mean) / dst_std``, per channel.

    Used by :class:`SSLDDistiller` when the teacher was trained with another
    normalisation than the student: both networks still see exactly the same
    (augmented) images. Not registered: built from ``teacher_data_preprocessor``.

    Args:
        src_mean, src_std: Normalisation of the incoming (student) tensor.
        dst_mean, dst_std: Normalisation the teacher expects.
        flip_channels (bool): Reverse the channel order (RGB <-> BGR).
    """

    def __init__(self,
                 src_mean: Sequence[float],
                 src_std: Sequence[float],
                 dst_mean: Sequence[float],
                 dst_std: Sequence[float],
                 flip_channels: bool = False) -> None:
        super().__init__()
        for name, value in (('src_mean', src_mean), ('src_std', src_std),
                            ('dst_mean', dst_mean), ('dst_std', dst_std)):
            self.register_buffer(
                name,
                torch.as_tensor(value, dtype=torch.float32).view(-1, 1, 1),
                persistent=False)
        self.flip_channels = flip_channels

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        raw = inputs * self.src_std + self.src_mean
        if self.flip_channels:
            raw = raw.flip(1)
        return (raw - self.dst_mean) / self.dst_std

    @classmethod
    def from_preprocessors(cls, shared: nn.Module,
                           teacher_cfg: dict) -> 'TeacherRenormalize':
        """Build from the shared data preprocessor and the teacher's settings.

        Args:
            shared (nn.Module): The distiller's data preprocessor (MMPretrain's
                ``ClsDataPreprocessor`` or anything with ``mean``/``std``/``to_rgb``).
            teacher_cfg (dict): ``dict(mean=[...], std=[...], to_rgb=bool)``;
                ``to_rgb`` defaults to the shared preprocessor's.
        """
        if not isinstance(teacher_cfg, dict):
            raise TypeError('teacher_data_preprocessor must be a dict like '
                            'dict(mean=[...], std=[...], to_rgb=True), got '
                            f'{type(teacher_cfg).__name__}')
        unknown = set(teacher_cfg) - _ALLOWED_KEYS
        if unknown:
            raise ValueError(
                f'teacher_data_preprocessor: unsupported keys {sorted(unknown)}; '
                f'accepted: mean, std, to_rgb')
        if 'mean' not in teacher_cfg or 'std' not in teacher_cfg:
            raise ValueError('teacher_data_preprocessor needs both `mean` and `std`')
        channels = len(teacher_cfg['mean'])
        if getattr(shared, '_enable_normalize', False):
            src_mean = shared.mean.flatten().tolist()
            src_std = shared.std.flatten().tolist()
        else:
            src_mean, src_std = [0.0] * channels, [1.0] * channels
        if not (len(src_mean) == len(teacher_cfg['std']) == channels):
            raise ValueError(
                f'teacher_data_preprocessor mean/std have {channels}/'
                f'{len(teacher_cfg["std"])} channels, the shared preprocessor '
                f'{len(src_mean)}')
        src_rgb: Optional[bool] = getattr(shared, 'to_rgb', False)
        dst_rgb = teacher_cfg.get('to_rgb', src_rgb)
        return cls(
            src_mean,
            src_std,
            teacher_cfg['mean'],
            teacher_cfg['std'],
            flip_channels=bool(src_rgb) != bool(dst_rgb))
