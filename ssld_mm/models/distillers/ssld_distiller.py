"""The SSLD distiller: a frozen teacher and a student classifier in one model."""
import copy
import logging
from typing import Dict, Optional, Sequence, Union

import torch
from mmengine.logging import print_log
from mmengine.model import BaseModel
from torch import nn

from ssld_mm.models.heads.soft_label_head_mixin import soft_label_losses
from ssld_mm.registry import MODELS
from ssld_mm.utils.autocast import autocast_context, check_autocast
from ssld_mm.utils.checkpoint import load_local_checkpoint
from ssld_mm.utils.config import load_config_file
from ssld_mm.utils.state_dict import checkpoint_state_dict, compare_state_dicts
from .class_check import check_same_classes
from .teacher_renormalize import TeacherRenormalize


def _model_cfg_from(teacher: Union[dict, str]) -> dict:
    """A teacher model config from a dict, or from a config file's ``model``."""
    if isinstance(teacher, str):
        teacher = load_config_file(teacher, 'teacher config', ('model', )).model
    if not isinstance(teacher, dict):
        raise TypeError('teacher must be a model config dict or the path of a '
                        f'config file, got {type(teacher).__name__}')
    teacher = copy.deepcopy(dict(teacher))
    # A distiller config as teacher (a student distilled before): use its student.
    if str(teacher.get('type', '')).split('.')[-1] == 'SSLDDistiller':
        teacher = copy.deepcopy(dict(teacher['student']))
    return teacher


def load_teacher_weights(teacher: nn.Module, filename: str) -> None:
    """Load ``filename`` into ``teacher`` strictly, or fail naming what does not fit.

    Raises:
        FileNotFoundError: If the checkpoint does not exist.
        ValueError: Listing missing keys, unexpected keys and shape mismatches.
    """
    # classifier keys from MMPretrain, DDP-saved (module.*) or distiller
    # (student.*) checkpoints
    state = checkpoint_state_dict(
        load_local_checkpoint(filename), filename, strip=('module.', 'student.'))
    mismatch = compare_state_dicts(teacher.state_dict(), state)
    if mismatch:
        raise ValueError(
            f'teacher checkpoint {filename} does not fit the teacher model:'
            f'{mismatch.describe()}')
    teacher.load_state_dict(state, strict=True)


@MODELS.register_module()
class SSLDDistiller(BaseModel):
    """SSLD: a student classifier learns a frozen teacher's soft predictions.

    The teacher is built from ``teacher`` and loaded from ``teacher_ckpt`` at
    construction (a missing file or keys that do not fit stop the run before
    training). It is frozen: no parameter requires grad, it stays in eval mode
    (PaddleClas keeps its teacher in train mode, i.e. BN on batch statistics; we
    always use eval mode, see the README), it runs under ``torch.no_grad`` in
    ``'tensor'`` mode (no labels needed) and it is *not a registered submodule*:
    it is invisible to ``state_dict`` (checkpoints hold the student only, keys
    ``student.*``; the teacher is reloaded from ``teacher_ckpt`` on resume), to
    the optimizer and to DDP (so plain DDP works without
    ``find_unused_parameters``). Device and dtype moves (``.to()``, ``.cuda()``)
    are forwarded to it.

    Training loss: ``distill_loss(student_logits, teacher_logits)`` on every
    sample, plus ``gt_loss_weight`` x the student head's own loss on the
    samples that carry a ``gt_label`` (unlabeled samples have none), so labeled
    and unlabeled images can share a batch.

    Validation, test and predict return the student's predictions as
    MMPretrain ``DataSample`` s, so the ``Accuracy`` metric works unchanged.

    Args:
        student (dict): Config of any classifier with ``extract_feat`` and a
            ``head`` (e.g. ``type='mmpretrain.ImageClassifier'``, or a model the
            user registered).
        teacher (dict | str): Config of the teacher model, or the path of a
            config file whose ``model`` is used (a distiller config there means
            its ``student``).
        teacher_ckpt (str, optional): Local checkpoint of the teacher, loaded on
            CPU: MMPretrain checkpoints, our student exports and distiller
            checkpoints (``student.*``), converted PaddleClas weights. ``None``
            leaves the teacher randomly initialised (tests, benchmarks) and warns.
        distill_loss (dict): Config of the divergence loss, called as
            ``loss(student_logits, teacher_logits)``. Defaults to
            ``SymmetricKLLoss``, PaddleClas's SSLD loss (its "JSDivLoss"),
            the one that reproduces the published numbers; how the losses
            compare: docs/demo.md.
        gt_loss_weight (float): Weight of the student head's loss on labeled
            samples. 0 (default) trains label-free, as SSLD does.
        data_preprocessor (dict, optional): Shared preprocessor. Defaults to the
            student config's ``data_preprocessor``. A ``ClsDataPreprocessor``
            (or no type) becomes :class:`SSLDDataPreprocessor`, the same with
            support for batches that mix labeled and unlabeled samples.
        teacher_data_preprocessor (dict, optional): ``dict(mean=..., std=...,
            to_rgb=...)`` of a teacher trained with other normalisation: the
            shared (student) input is converted exactly, so both networks still
            see the same augmented images.
        teacher_channels_last (bool): Run the teacher in channels-last memory
            format (faster on GPUs with tensor cores and on some CPUs).
        teacher_autocast (str, optional): ``'float16'`` or ``'bfloat16'``: run the
            teacher under ``torch.autocast`` with that dtype; its logits are cast
            back to float32 for the loss. Defaults to None (the teacher follows
            the surrounding precision, e.g. ``--amp``).
        init_cfg (dict, optional): Initialisation config of the student.

    Example:
        >>> model = dict(
        ...     type='SSLDDistiller',
        ...     student=dict(
        ...         type='mmpretrain.ImageClassifier',
        ...         backbone=dict(type='mmpretrain.MobileNetV3', arch='large'),
        ...         neck=dict(type='mmpretrain.GlobalAveragePooling'),
        ...         head=dict(type='mmpretrain.StackedLinearClsHead',
        ...                   num_classes=1000, in_channels=960,
        ...                   mid_channels=[1280], act_cfg=dict(type='HSwish'))),
        ...     teacher='configs/paddleclas/resnet50_vd.py',
        ...     teacher_ckpt='checkpoints/resnet50_vd_ssld.pth',
        ...     distill_loss=dict(type='SymmetricKLLoss'),
        ...     gt_loss_weight=0.0)
    """

    def __init__(self,
                 student: dict,
                 teacher: Union[dict, str],
                 teacher_ckpt: Optional[str] = None,
                 distill_loss: dict = dict(type='SymmetricKLLoss'),
                 gt_loss_weight: float = 0.0,
                 data_preprocessor: Optional[dict] = None,
                 teacher_data_preprocessor: Optional[dict] = None,
                 teacher_channels_last: bool = False,
                 teacher_autocast: Optional[str] = None,
                 init_cfg: Optional[dict] = None) -> None:
        if not isinstance(student, dict):
            raise TypeError('student must be a model config dict, got '
                            f'{type(student).__name__}')
        if not isinstance(gt_loss_weight, (int, float)) or gt_loss_weight < 0:
            raise ValueError(
                f'gt_loss_weight must be a number >= 0, got {gt_loss_weight!r}')
        check_autocast(teacher_autocast, 'teacher_autocast')
        student = copy.deepcopy(dict(student))
        if data_preprocessor is None:
            data_preprocessor = copy.deepcopy(student.get('data_preprocessor') or {})
        if isinstance(data_preprocessor, dict) and data_preprocessor.get(
                'type', 'ClsDataPreprocessor').split('.')[-1] == 'ClsDataPreprocessor':
            # same arguments, but batches may mix labeled and unlabeled samples
            data_preprocessor['type'] = 'SSLDDataPreprocessor'
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)

        self.student = MODELS.build(student)
        for attr in ('extract_feat', 'head'):
            if not hasattr(self.student, attr):
                raise TypeError(
                    f'student {type(self.student).__name__} has no `{attr}`: '
                    'the distiller needs a classifier with extract_feat() and a '
                    'head (e.g. mmpretrain.ImageClassifier)')
        if gt_loss_weight > 0 and not hasattr(self.student.head, '_get_loss'):
            raise TypeError(
                f'gt_loss_weight={gt_loss_weight} needs a student head with '
                f'_get_loss() (MMPretrain ClsHead family), got '
                f'{type(self.student.head).__name__}')
        self.distill_loss = MODELS.build(distill_loss)
        self.gt_loss_weight = float(gt_loss_weight)
        self.teacher_ckpt = teacher_ckpt
        self.teacher_channels_last = teacher_channels_last
        self.teacher_autocast = teacher_autocast

        teacher_model = MODELS.build(_model_cfg_from(teacher))
        check_same_classes(self.student, teacher_model)
        if teacher_ckpt is None:
            print_log(
                'SSLDDistiller: teacher_ckpt is None, the teacher keeps the '
                'random weights its layers were built with (only useful for '
                'tests and benchmarks).',
                logger='current',
                level=logging.WARNING)
        else:
            load_teacher_weights(teacher_model, teacher_ckpt)
            print_log(
                f'SSLDDistiller: loaded teacher weights from {teacher_ckpt}',
                logger='current')
        teacher_model.requires_grad_(False)
        teacher_model.eval()
        if teacher_channels_last:
            teacher_model.to(memory_format=torch.channels_last)
        # Not a registered submodule: see the class docstring.
        object.__setattr__(self, 'teacher', teacher_model)
        renorm = None
        if teacher_data_preprocessor is not None:
            renorm = TeacherRenormalize.from_preprocessors(self.data_preprocessor,
                                                           teacher_data_preprocessor)
        object.__setattr__(self, 'teacher_renormalize', renorm)

    # ------------------------------------------------------------ teacher state
    def _apply(self, fn, *args, **kwargs):
        """Forward ``.to()/.cuda()/.float()`` moves to the hidden teacher."""
        self.teacher._apply(fn, *args, **kwargs)
        if self.teacher_renormalize is not None:
            self.teacher_renormalize._apply(fn, *args, **kwargs)
        return super()._apply(fn, *args, **kwargs)

    def train(self, mode: bool = True) -> 'SSLDDistiller':
        """Set the student's mode; the teacher always stays in eval mode."""
        super().train(mode)
        self.teacher.eval()
        return self

    def init_weights(self) -> None:
        """Initialise the student only; the teacher keeps its loaded weights."""
        self.student.init_weights()

    @torch.no_grad()
    def teacher_logits(self, inputs: torch.Tensor) -> torch.Tensor:
        """The teacher's float32 logits for preprocessed ``inputs`` (no grad)."""
        if self.teacher.training:  # someone called teacher.train() directly
            self.teacher.eval()
        if self.teacher_renormalize is not None:
            inputs = self.teacher_renormalize(inputs)
        if self.teacher_channels_last and inputs.dim() == 4:
            inputs = inputs.contiguous(memory_format=torch.channels_last)
        with autocast_context(inputs.device.type, self.teacher_autocast):
            logits = self.teacher(inputs, mode='tensor')
        if isinstance(logits, (tuple, list)):
            logits = logits[-1]
        return logits.float()

    # ------------------------------------------------------------------ forward
    def forward(self,
                inputs: torch.Tensor,
                data_samples: Optional[list] = None,
                mode: str = 'tensor'):
        """``'loss'``: dict of ``loss_*``; ``'predict'``: the student's
        DataSamples; ``'tensor'``: the student's logits."""
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode in ('predict', 'tensor'):
            return self.student(inputs, data_samples, mode=mode)
        raise RuntimeError(f'Invalid mode "{mode}": expected "loss", "predict" '
                           'or "tensor"')

    def loss(self,
             inputs: torch.Tensor,
             data_samples: Optional[Sequence] = None) -> Dict[str, torch.Tensor]:
        """Distillation loss on all samples (+ GT loss on labeled ones).

        The teacher runs first, so its activations are freed before the
        student's are kept for the backward pass (lower peak memory; the
        losses do not depend on the order).
        """
        teacher_logits = self.teacher_logits(inputs)
        feats = self.student.extract_feat(inputs)
        student_logits = self.student.head(feats)
        if isinstance(student_logits, (tuple, list)):
            student_logits = student_logits[-1]
        if teacher_logits.shape != student_logits.shape:
            raise ValueError(
                f'teacher logits {tuple(teacher_logits.shape)} and student '
                f'logits {tuple(student_logits.shape)} differ: teacher and '
                'student must predict the same classes')
        labeled = [
            i for i, s in enumerate(data_samples or [])
            if 'gt_label' in s and s.gt_label.numel() > 0
        ] if self.gt_loss_weight > 0 else []
        # The one implementation shared with the soft-label heads.
        return soft_label_losses(
            student_logits,
            teacher_logits,
            self.distill_loss,
            labeled_idx=labeled,
            gt_loss=lambda logits, idx: self._gt_loss(logits,
                                                      [data_samples[i] for i in idx]),
            gt_loss_weight=self.gt_loss_weight)

    def _gt_loss(self, logits: torch.Tensor, samples: Sequence) -> torch.Tensor:
        """The student head's own loss (unweighted) on labeled samples."""
        head_losses = self.student.head._get_loss(logits, samples)
        return sum(v for k, v in head_losses.items() if 'loss' in k)
