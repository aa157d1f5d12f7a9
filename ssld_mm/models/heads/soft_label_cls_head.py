"""MMPretrain's linear head trained from soft labels (the "JSD head")."""
from mmpretrain.models.heads import LinearClsHead

from ssld_mm.registry import MODELS
from .soft_label_head_mixin import SoftLabelHeadMixin


@MODELS.register_module()
class SoftLabelClsHead(SoftLabelHeadMixin, LinearClsHead):
    """``LinearClsHead`` whose loss is a divergence against soft targets.

    The design card's "JSD head": with it a plain
    ``mmpretrain.ImageClassifier`` trains from soft labels with no distiller
    and no teacher forward, from the stored-teacher views replayed by
    ``ReplayStoredView`` or from ``select_topk.py --soft-labels`` output
    loaded by ``ImageListDataset``. Each sample's soft target is its
    ``gt_score``; the loss is ``distill_loss(logits, log(gt_score))`` (the
    same numbers as :class:`SSLDDistiller` with the online teacher that
    produced the distribution) plus ``gt_loss_weight`` x ``loss`` on the
    samples that have a ``gt_label``. See :class:`SoftLabelHeadMixin`.

    Args:
        num_classes (int): Number of classes.
        in_channels (int): Input feature channels.
        distill_loss (dict): Divergence config. Defaults to
            ``SymmetricKLLoss`` (PaddleClas's SSLD loss).
        gt_loss_weight (float): Weight of the hard-label loss. Defaults to 0.
        **kwargs: Other arguments of ``mmpretrain.LinearClsHead`` (``loss``:
            the hard-label loss, ``topk``, ``cal_acc``, ``init_cfg``).

    Example:
        >>> model = dict(
        ...     type='mmpretrain.ImageClassifier',
        ...     backbone=dict(type='mmpretrain.ResNetV1d', depth=50),
        ...     neck=dict(type='mmpretrain.GlobalAveragePooling'),
        ...     head=dict(type='ssld_mm.SoftLabelClsHead', num_classes=1000,
        ...               in_channels=2048,
        ...               distill_loss=dict(type='ssld_mm.SymmetricKLLoss'),
        ...               gt_loss_weight=0.0))
    """
