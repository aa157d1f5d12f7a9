"""Stop a run at the first non-finite loss, before NaN reaches the weights."""
import math
from typing import Callable, Dict

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from ssld_mm.registry import HOOKS


class NonFiniteLossError(FloatingPointError):
    """A loss term or the teacher's logits are NaN or infinite."""


def _mean(value) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value.detach().float().mean()
    return sum(v.detach().float().mean() for v in value)


@HOOKS.register_module()
class FiniteLossHook(Hook):
    """Stop training at the first iteration whose loss is NaN or infinite.

    Before training it wraps the model's ``parse_losses`` (every MMEngine
    ``BaseModel`` has one: MMPretrain classifiers, MMDetection detectors, the
    SSLD distiller), which ``train_step`` calls after the forward pass and
    *before* the optimizer wrapper's backward and step. A non-finite term
    (``loss_distill``, ``loss_cls``, ``loss_rpn_bbox`` ...) or total raises
    :class:`NonFiniteLossError` naming the iteration and the terms, so no NaN
    weights are written and the last checkpoint stays good. One device sync per
    iteration (MMEngine's logging syncs on the same values anyway).

    For an ``SSLDDistiller`` it also checks the teacher's logits of the first
    batch: a broken teacher checkpoint or an fp16 overflow of
    ``teacher_autocast='float16'`` is named as such, not as a loss problem.

    It is a default hook of ``configs/_base_/default_runtime.py``, and
    ``tools/train.py`` adds it to configs that lack it (MMDetection's); set
    ``default_hooks.finite_loss=None`` to switch it off.

    Args:
        check_teacher (bool): Check the teacher's first-batch logits.
            Defaults to True.

    Example:
        >>> default_hooks = dict(finite_loss=dict(type='FiniteLossHook'))
    """

    priority = 'VERY_HIGH'

    def __init__(self, check_teacher: bool = True) -> None:
        if not isinstance(check_teacher, bool):
            raise TypeError(f'check_teacher must be a bool, got {check_teacher!r}')
        self.check_teacher = check_teacher
        self._runner = None

    def before_train(self, runner) -> None:
        self._runner = runner
        model = runner.model.module if is_model_wrapper(runner.model) \
            else runner.model
        if not getattr(model.parse_losses, '_ssld_finite_check', False):
            model.parse_losses = self._checked_parse_losses(model.parse_losses)
        if self.check_teacher and callable(getattr(model, 'teacher_logits', None)):
            self._check_first_teacher_batch(model)

    def _iteration(self) -> str:
        runner = self._runner
        return f'iteration {runner.iter + 1}' + (
            f' (epoch {runner.epoch + 1})'
            if runner.train_loop.__class__.__name__.startswith('Epoch') else '')

    def _checked_parse_losses(self, parse_losses: Callable) -> Callable:

        def checked(losses: Dict[str, torch.Tensor]):
            loss, log_vars = parse_losses(losses)
            if not bool(torch.isfinite(loss.detach()).all()):
                self._raise(losses, loss)
            return loss, log_vars

        checked._ssld_finite_check = True
        return checked

    def _raise(self, losses: Dict[str, torch.Tensor], total: torch.Tensor):
        terms = {}
        for name, value in losses.items():
            v = float(_mean(value))
            if not math.isfinite(v):
                terms[name] = v
        named = ', '.join(f'{k} = {v}' for k, v in terms.items()) or \
            f'the total loss = {float(total.detach().float().mean())}'
        hint = ''
        if any('distill' in k for k in terms):
            hint = (' A non-finite distillation loss usually means non-finite '
                    'teacher logits (teacher_autocast overflow?) or student '
                    'logits that diverged (lower the lr).')
        raise NonFiniteLossError(
            f'{self._iteration()}: non-finite loss: {named}. Training stopped '
            'before the optimizer step, so no NaN weights were written; the '
            'last checkpoint is unaffected (resume from it after fixing the '
            f'cause: lr, data, loss weights, fp16).{hint}')

    def _check_first_teacher_batch(self, model) -> None:
        original = model.teacher_logits

        def teacher_logits_once(*args, **kwargs):
            logits = original(*args, **kwargs)
            del model.teacher_logits  # back to the class method: one check
            if not bool(torch.isfinite(logits).all()):
                bad = int((~torch.isfinite(logits)).sum())
                autocast = getattr(model, 'teacher_autocast', None)
                raise NonFiniteLossError(
                    f'{self._iteration()}: the teacher\'s logits of the first '
                    f'batch are not finite ({bad} of {logits.numel()} values '
                    'NaN/inf). Check the teacher checkpoint '
                    f'({getattr(model, "teacher_ckpt", None)!r})' +
                    (f' and teacher_autocast={autocast!r} (fp16 overflows '
                     'above 65504; try bfloat16 or None)' if autocast else '') + '.')
            return logits

        model.teacher_logits = teacher_logits_once


def add_finite_loss_hook(cfg) -> None:
    """Give a config the :class:`FiniteLossHook` unless it has one or switched
    it off (``default_hooks.finite_loss=None``); for configs that do not
    inherit ``configs/_base_/default_runtime.py`` (MMDetection's)."""
    hooks = cfg.get('default_hooks', None)
    if hooks is None:
        cfg.default_hooks = hooks = dict()
    if 'finite_loss' not in hooks:
        hooks['finite_loss'] = dict(type='ssld_mm.FiniteLossHook')
