"""Divergence against a per-sample teacher distribution: the one implementation.

Used by the soft-label heads (:class:`SoftLabelClsHead`,
:class:`SoftLabelStackedClsHead`, :class:`SoftLabelPaddleMobileNetV3Head`,
through :class:`SoftLabelHeadMixin`) and by :class:`SSLDDistiller` (through
:func:`soft_label_losses`), so "divergence against a teacher distribution plus
an optional hard-label term on the labeled samples" exists once.

Targets are given to the divergence loss (``SymmetricKLLoss``, ``JSDivLoss``,
``KLDivLoss``, ``SoftCELoss``; all called as ``loss(student_logits,
target_logits)``) as *logits*. A stored probability vector ``p`` becomes the
logits ``log p``: ``log_softmax(log(p) / T) == log_softmax(z / T)`` for the
teacher logits ``z`` that produced ``p``, at every temperature ``T``, so a
target stored as probabilities gives exactly the loss of the online teacher.
"""
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
from mmpretrain.evaluation import Accuracy

from ssld_mm.models.losses.base_distill_loss import check_non_negative
from ssld_mm.registry import MODELS

# Probabilities below this (float16 underflow of a stored target) are clamped
# before the log: exp(log(tiny)) contributes nothing, and no -inf reaches the
# loss (0 * -inf would be NaN).
_MIN_PROB = 1e-30

GtLossFn = Callable[[torch.Tensor, List[int]], torch.Tensor]


def probs_to_logits(probs: torch.Tensor) -> torch.Tensor:
    """Logits whose softmax is ``probs / probs.sum(-1)``: ``log(probs)``.

    Args:
        probs (Tensor): ``[N, C]`` non-negative scores (probabilities; rows
            need not sum to 1 exactly, e.g. float16 storage).

    Returns:
        Tensor: ``[N, C]`` float32 logits (zeros become ``log(1e-30)``).
    """
    return torch.log(probs.float().clamp_min(_MIN_PROB))


def _describe(sample, i: int) -> str:
    """``sample 3 (img_path='a.jpg', sample_idx=17)`` for error messages."""
    meta = []
    for key in ('img_path', 'sample_idx'):
        value = sample.get(key, None) if hasattr(sample, 'get') else None
        if value is not None:
            meta.append(f'{key}={value!r}')
    return f'sample {i} of the batch' + (f' ({", ".join(meta)})' if meta else '')


def collect_soft_targets(
        data_samples: Sequence, num_classes: int, use_labels: bool,
        owner: str) -> Tuple[List[int], Optional[torch.Tensor], List[int]]:
    """Split a batch into samples with a soft target and samples with a label.

    A sample's soft target is its ``gt_score`` (MMPretrain's field; the
    stored teacher distribution of ``ReplayStoredView`` and the
    ``select_topk.py --soft-labels`` probabilities of ``ImageListDataset``
    are put there).

    Args:
        data_samples (Sequence[DataSample]): The batch.
        num_classes (int): Expected length of every ``gt_score``.
        use_labels (bool): Whether ``gt_label`` is used (hard-label term on).
        owner (str): Name used in error messages.

    Returns:
        tuple: ``(soft_idx, soft_probs [len(soft_idx), C] or None,
        labeled_idx)``.

    Raises:
        ValueError: If a sample has neither a usable soft target nor a usable
            label, if a ``gt_score`` has the wrong length or no positive mass,
            or a ``gt_label`` is not a single class.
    """
    soft_idx, scores, labeled_idx = [], [], []
    for i, s in enumerate(data_samples):
        has_score = 'gt_score' in s
        has_label = 'gt_label' in s and s.gt_label.numel() > 0
        if has_score:
            score = s.gt_score
            if score.dim() != 1 or score.numel() != num_classes:
                raise ValueError(f'{owner}: {_describe(s, i)} has a gt_score of shape '
                                 f'{tuple(score.shape)}, expected ({num_classes},)')
            soft_idx.append(i)
            scores.append(score)
        if has_label and use_labels:
            if s.gt_label.numel() != 1:
                raise ValueError(f'{owner}: {_describe(s, i)} has gt_label '
                                 f'{s.gt_label.tolist()}, expected a single class')
            labeled_idx.append(i)
        if not has_score and not (has_label and use_labels):
            why = ('and its gt_label is unused (gt_loss_weight=0)'
                   if has_label else 'and no gt_label')
            raise ValueError(
                f'{owner}: {_describe(s, i)} has no soft target (gt_score: the '
                f'stored teacher distribution or a soft label) {why}: every '
                'sample needs a gt_score, or a gt_label with gt_loss_weight > 0')
    probs = None
    if scores:
        probs = torch.stack([t.float() for t in scores])
        bad = torch.nonzero((probs < 0).any(1) | ~(probs.sum(1) > 0)
                            | ~torch.isfinite(probs).all(1)).flatten().tolist()
        if bad:
            j = soft_idx[bad[0]]
            raise ValueError(
                f'{owner}: {_describe(data_samples[j], j)} has a gt_score that '
                'is not a distribution (negative, non-finite or zero mass): '
                f'{probs[bad[0]].tolist()[:10]}')
    return soft_idx, probs, labeled_idx


def soft_label_losses(cls_score: torch.Tensor,
                      target_logits: torch.Tensor,
                      divergence: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
                      soft_idx: Optional[List[int]] = None,
                      labeled_idx: Sequence[int] = (),
                      gt_loss: Optional[GtLossFn] = None,
                      gt_loss_weight: float = 0.0) -> Dict[str, torch.Tensor]:
    """``loss_distill`` (+ ``loss_gt``): the soft-label loss of a batch.

    ``loss_distill = divergence(cls_score[soft_idx], target_logits)``, the
    batch mean over the samples with a target (all when ``soft_idx`` is None);
    with ``gt_loss_weight > 0``, ``loss_gt = gt_loss_weight *
    gt_loss(cls_score[labeled_idx], labeled_idx)``. An empty subset gives an
    exact zero that keeps the graph (identical across DDP ranks).

    Args:
        cls_score (Tensor): ``[N, C]`` student logits.
        target_logits (Tensor): ``[len(soft_idx), C]`` target logits (teacher
            logits, or :func:`probs_to_logits` of a stored distribution).
        divergence (callable): The loss module, ``(student, target) ->
            scalar``.
        soft_idx (list[int], optional): Rows of ``cls_score`` that have a
            target, in the order of ``target_logits``. None: all rows.
        labeled_idx (Sequence[int]): Rows with a ``gt_label``.
        gt_loss (callable, optional): ``(logits of labeled rows, labeled_idx)
            -> scalar``. Needed when ``gt_loss_weight > 0``.
        gt_loss_weight (float): Weight of the hard-label term (0: no
            ``loss_gt`` key).

    Returns:
        dict[str, Tensor]: ``loss_distill`` and, if ``gt_loss_weight > 0``,
        ``loss_gt``.
    """
    zero = cls_score.float().sum() * 0.0
    if soft_idx is None or len(soft_idx) == cls_score.shape[0]:
        student = cls_score
    elif len(soft_idx) == 0:
        student = None
    else:
        student = cls_score.index_select(
            0, torch.as_tensor(soft_idx, device=cls_score.device))
    if student is None:
        losses = {'loss_distill': zero}
    else:
        losses = {
            'loss_distill': divergence(student,
                                       target_logits.to(device=cls_score.device))
        }
    if gt_loss_weight > 0:
        if gt_loss is None:
            raise ValueError('gt_loss_weight > 0 needs a gt_loss function')
        if len(labeled_idx) == 0:
            losses['loss_gt'] = zero
        else:
            idx = torch.as_tensor(list(labeled_idx), device=cls_score.device)
            losses['loss_gt'] = gt_loss(
                cls_score.index_select(0, idx), list(labeled_idx)) * gt_loss_weight
    return losses


class SoftLabelHeadMixin:
    """Turns an MMPretrain ``ClsHead`` into a soft-label head.

    Put it first in the bases (``class H(SoftLabelHeadMixin, LinearClsHead)``):
    it takes ``distill_loss`` and ``gt_loss_weight`` and passes every other
    argument to the head. :meth:`loss` then trains from per-sample soft
    targets (``gt_score``), as :class:`SSLDDistiller` trains from the online
    teacher, plus ``gt_loss_weight`` x the head's ``loss`` (MMPretrain's
    ``CrossEntropyLoss`` by default) on the samples that have a ``gt_label``.
    A sample with neither (or with only a label while ``gt_loss_weight=0``)
    is an error naming the sample. Prediction is the head's own.

    Args:
        distill_loss (dict): Divergence between the logits and the soft
            target. Defaults to ``SymmetricKLLoss`` (PaddleClas's SSLD loss,
            the one that reproduces the published numbers).
        gt_loss_weight (float): Weight of the hard-label loss on the samples
            with a ``gt_label``. Defaults to 0 (soft targets only, as SSLD).
        *args, **kwargs: The head's own arguments.
    """

    def __init__(self,
                 *args,
                 distill_loss: dict = dict(type='ssld_mm.SymmetricKLLoss'),
                 gt_loss_weight: float = 0.0,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not isinstance(distill_loss, (dict, torch.nn.Module)):
            raise TypeError(f'{type(self).__name__}: distill_loss must be a '
                            f'loss config dict, got {distill_loss!r}')
        self.distill_loss = distill_loss if isinstance(
            distill_loss, torch.nn.Module) else MODELS.build(distill_loss)
        self.gt_loss_weight = check_non_negative('gt_loss_weight', gt_loss_weight)

    def loss(self, feats: Tuple[torch.Tensor], data_samples: Sequence,
             **kwargs) -> Dict[str, torch.Tensor]:
        """``loss_distill`` (+ ``loss_gt``, accuracies if ``cal_acc``).

        Args:
            feats (tuple[Tensor]): Features from the neck/backbone.
            data_samples (list[DataSample]): Each with a ``gt_score`` (soft
                target) and/or a ``gt_label``.
            **kwargs: Passed to the hard-label loss module.
        """
        cls_score = self(feats)
        return self.soft_label_loss(cls_score, data_samples, **kwargs)

    def soft_label_loss(self, cls_score: torch.Tensor, data_samples: Sequence,
                        **kwargs) -> Dict[str, torch.Tensor]:
        """The losses of :meth:`loss` from already computed logits."""
        if cls_score.dim() != 2 or cls_score.shape[0] != len(data_samples):
            raise ValueError(
                f'{type(self).__name__}: logits of shape '
                f'{tuple(cls_score.shape)} for {len(data_samples)} samples')
        soft_idx, probs, labeled_idx = collect_soft_targets(data_samples,
                                                            cls_score.shape[1],
                                                            self.gt_loss_weight > 0,
                                                            type(self).__name__)
        target = probs_to_logits(probs) if probs is not None else None

        def hard_loss(logits: torch.Tensor, idx: List[int]) -> torch.Tensor:
            labels = torch.cat([data_samples[i].gt_label
                                for i in idx]).to(logits.device)
            return self.loss_module(
                logits, labels, avg_factor=logits.shape[0], **kwargs)

        losses = soft_label_losses(
            cls_score,
            target,
            self.distill_loss,
            soft_idx=soft_idx,
            labeled_idx=labeled_idx,
            gt_loss=hard_loss,
            gt_loss_weight=self.gt_loss_weight)
        if getattr(self, 'cal_acc', False) and labeled_idx:
            idx = torch.as_tensor(labeled_idx, device=cls_score.device)
            labels = torch.cat([data_samples[i].gt_label for i in labeled_idx])
            acc = Accuracy.calculate(
                cls_score.index_select(0, idx).detach(),
                labels.to(cls_score.device),
                topk=self.topk)
            losses.update({f'accuracy_top-{k}': a for k, a in zip(self.topk, acc)})
        return losses
