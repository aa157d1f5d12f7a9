"""Log the frozen teacher's validation accuracy once, before training."""
import logging
from typing import Optional, Sequence

import torch
from mmengine.dist import all_reduce
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from ssld_mm.registry import HOOKS


@HOOKS.register_module()
class TeacherAccuracyHook(Hook):
    """Evaluate the distiller's teacher on the validation set once.

    A teacher that was loaded from the wrong checkpoint, or that expects another
    normalisation, silently ruins a distillation run; this hook makes its top-k
    accuracy the first number in the log (``teacher/accuracy_top1`` ...). It
    runs before the first epoch (not again on resume), on every rank's shard of
    ``val_dataloader``, and sums the counts across ranks.

    Args:
        topk (Sequence[int]): Which top-k accuracies to log. Defaults to (1, 5).
            A ``k`` above the teacher's number of classes ``C`` is clipped to
            ``C`` (logged as ``top{C}``, always 100%) with a warning, so the
            default works with fewer than 5 classes.
        max_batches (int, optional): Evaluate at most this many batches per rank
            (a quick sanity check on huge validation sets). Defaults to None (all).

    Example:
        >>> custom_hooks = [dict(type='TeacherAccuracyHook', topk=(1, 5))]
    """

    priority = 'LOW'

    def __init__(self,
                 topk: Sequence[int] = (1, 5),
                 max_batches: Optional[int] = None) -> None:
        if not topk or any(not isinstance(k, int) or k < 1 for k in topk):
            raise ValueError(f'topk must be positive integers, got {topk!r}')
        if max_batches is not None and max_batches < 1:
            raise ValueError(f'max_batches must be None or >= 1, got {max_batches}')
        self.topk = tuple(topk)
        self.max_batches = max_batches

    def before_train(self, runner) -> None:
        if runner.iter > 0 or runner.val_loop is None:
            return  # resumed run, or no validation data
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if not hasattr(model, 'teacher_logits'):
            raise TypeError('TeacherAccuracyHook needs an SSLDDistiller model, got '
                            f'{type(model).__name__}')
        accuracies = self.evaluate(model, runner.val_loop.dataloader)
        for k, acc in accuracies.items():
            runner.message_hub.update_scalar(f'teacher/accuracy_top{k}', acc)
        text = ', '.join(f'top-{k} {acc:.2f}%' for k, acc in accuracies.items())
        runner.logger.info(f'Teacher accuracy on the validation set: {text}')

    @torch.no_grad()
    def evaluate(self, model, dataloader) -> dict:
        """Top-k accuracies (percent) of ``model.teacher_logits`` on labeled samples.

        Returns:
            dict[int, float]: ``{k: accuracy}`` for each ``k`` of ``topk``
            clipped to the number of classes (see :meth:`clip_topk`); empty
            keys are never returned, duplicates after clipping are merged.
        """
        device = next(model.parameters()).device
        topk = self.topk
        counts = torch.zeros(len(topk) + 1, dtype=torch.float64, device=device)
        for i, data in enumerate(dataloader):
            if self.max_batches is not None and i >= self.max_batches:
                break
            data = model.data_preprocessor(data, False)
            samples = data['data_samples']
            keep = [j for j, s in enumerate(samples) if 'gt_label' in s]
            if not keep:
                continue
            logits = model.teacher_logits(data['inputs'][keep])
            if topk is self.topk:  # first batch: the number of classes is known
                topk = self.clip_topk(logits.shape[1])
            target = torch.cat([samples[j].gt_label for j in keep]).to(device)
            ranked = logits.topk(max(topk), dim=1).indices
            for n, k in enumerate(topk):
                counts[n] += (ranked[:, :k] == target[:, None]).any(1).sum()
            counts[-1] += len(keep)
        all_reduce(counts)
        total = max(counts[-1].item(), 1.0)
        return {k: 100.0 * counts[n].item() / total for n, k in enumerate(topk)}

    def clip_topk(self, num_classes: int) -> tuple:
        """``topk`` with every ``k > num_classes`` clipped (and deduplicated).

        Warns once per clipped value (``torch.topk`` would raise "selected
        index k out of range").

        Example:
            >>> TeacherAccuracyHook(topk=(1, 5)).clip_topk(3)
            (1, 3)
        """
        clipped = tuple(dict.fromkeys(min(k, num_classes) for k in self.topk))
        for k in self.topk:
            if k > num_classes:
                print_log(
                    f'TeacherAccuracyHook: top-{k} clipped to top-'
                    f'{num_classes}: the teacher has {num_classes} '
                    'classes (set custom_hooks=[dict(type='
                    "'TeacherAccuracyHook', topk=(1, )), ...] to "
                    'silence this)',
                    logger='current',
                    level=logging.WARNING)
        return clipped
