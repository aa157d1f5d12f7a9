"""FixRes fine-tuning: train only the classifier at the test resolution."""
from typing import List, Optional, Sequence, Union

import torch.nn as nn
from mmcv.transforms import Compose
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import EpochBasedTrainLoop
from mmengine.utils.dl_utils.parrots_wrapper import _BatchNorm
from mmpretrain.engine.hooks import SwitchRecipeHook
from torch.nn.parallel import DistributedDataParallel

from ssld_mm.registry import HOOKS
from ssld_mm.utils.module_path import match_module_path


@HOOKS.register_module()
class FixResHook(Hook):
    """Fine-tune a trained classifier at a higher resolution (FixRes).

    From ``begin_epoch`` on, every parameter except those under ``trainable``
    (the final classifier, ``head`` by default) gets ``requires_grad=False``
    and every BatchNorm layer outside ``trainable`` stays in eval mode, so its
    running statistics are frozen too. With ``update_bn_stats=True`` those BN
    layers run in train mode instead: they normalise with batch statistics and
    their running statistics adapt to the new resolution (the variant of the
    FixRes paper); their affine weights stay frozen either way.

    The resolution itself lives in the config: train and test pipelines with
    the same preprocessing at the new size (see ``configs/fixres/``), or
    ``train_pipeline`` here to switch the train pipeline at ``begin_epoch``
    in the same run.

    The hook applies itself in ``before_train`` (also after ``--resume``, when
    the resumed epoch is at or past ``begin_epoch``) and logs exactly which
    parameters stay trainable. Frozen parameters get no gradient, so SGD and
    AdamW neither move nor decay them (momentum included).

    Note:
        Under distributed training the freezing happens after the model was
        wrapped in DDP, so the wrapper must tolerate parameters without
        gradients: set ``model_wrapper_cfg=dict(
        type='MMDistributedDataParallel', find_unused_parameters=True)``
        (the configs in ``configs/fixres/`` do). The hook stops with an
        explanation otherwise.

    Args:
        trainable (str | Sequence[str]): Module paths of the model (after
            unwrapping DDP) whose parameters keep training; ``'head'`` covers
            ``head.*`` and never ``header.*``. Defaults to ``('head', )``.
        update_bn_stats (bool): Let the running statistics of the frozen BN
            layers adapt (BN in train mode). Defaults to False.
        begin_epoch (int): First epoch (0-based, as ``runner.epoch``) trained
            the FixRes way; 0 is the whole run. Values > 0 need an
            epoch-based train loop. Defaults to 0.
        train_pipeline (list[dict], optional): A train pipeline switched in at
            ``begin_epoch`` (as :class:`mmpretrain.engine.SwitchRecipeHook`
            does). Defaults to None (keep the config's).

    Example:
        >>> custom_hooks = [dict(type='FixResHook')]
        >>> # the FixRes paper's variant: BN statistics adapt
        >>> custom_hooks = [dict(type='FixResHook', update_bn_stats=True)]
        >>> # train normally, switch to FixRes for the last 5 of 100 epochs
        >>> custom_hooks = [dict(type='FixResHook', begin_epoch=95,
        >>>                      train_pipeline=fixres_train_pipeline)]
    """
    priority = 'NORMAL'

    def __init__(self,
                 trainable: Union[str, Sequence[str]] = ('head', ),
                 update_bn_stats: bool = False,
                 begin_epoch: int = 0,
                 train_pipeline: Optional[List[dict]] = None) -> None:
        if isinstance(trainable, str):
            trainable = (trainable, )
        if not isinstance(trainable, (list, tuple)) or not trainable or not all(
                isinstance(t, str) and t for t in trainable):
            raise TypeError('trainable must be a module path or a non-empty '
                            f'list of module paths, got {trainable!r}')
        if not isinstance(update_bn_stats, bool):
            raise TypeError('update_bn_stats must be a bool, got '
                            f'{update_bn_stats!r}')
        if not isinstance(begin_epoch, int) or isinstance(begin_epoch,
                                                          bool) or begin_epoch < 0:
            raise ValueError('begin_epoch must be an int >= 0, got '
                             f'{begin_epoch!r}')
        if train_pipeline is not None and not isinstance(train_pipeline, list):
            raise TypeError('train_pipeline must be a list of transform '
                            f'configs or None, got {type(train_pipeline)}')
        self.trainable = tuple(trainable)
        self.update_bn_stats = update_bn_stats
        self.begin_epoch = begin_epoch
        self.train_pipeline = (
            Compose(train_pipeline) if train_pipeline is not None else None)
        self._frozen_bns: List[nn.Module] = []
        self.applied = False

    def before_train(self, runner) -> None:
        """Apply at the start, or on resume at/after ``begin_epoch``."""
        self.applied = False
        if self.begin_epoch > 0 and not isinstance(runner.train_loop,
                                                   EpochBasedTrainLoop):
            raise ValueError(
                f'FixResHook(begin_epoch={self.begin_epoch}) needs an '
                f'epoch-based train loop, got {type(runner.train_loop).__name__}'
                '; use begin_epoch=0 with iteration-based training')
        if runner.epoch >= self.begin_epoch:
            if runner.epoch > 0:
                reason = f'resumed at epoch {runner.epoch}'
            elif getattr(runner, 'iter', 0) > 0:
                reason = f'resumed at iteration {runner.iter}'
            else:
                reason = 'from the first iteration'
            self._apply(runner, reason)

    def before_train_epoch(self, runner) -> None:
        """Apply at ``begin_epoch`` if not applied yet."""
        if not self.applied and runner.epoch >= self.begin_epoch:
            self._apply(runner, f'at epoch {runner.epoch}')

    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch: Optional[dict] = None) -> None:
        """Put the frozen BN layers back in eval mode.

        The train loops call ``model.train()`` before every epoch (or
        iteration), which would turn them back to batch statistics.
        """
        if self.applied and not self.update_bn_stats:
            for bn in self._frozen_bns:
                bn.eval()

    def _apply(self, runner, reason: str) -> None:
        model = runner.model
        if is_model_wrapper(model):
            if isinstance(model, DistributedDataParallel) and not getattr(
                    model, 'find_unused_parameters', False):
                raise RuntimeError(
                    'FixResHook freezes parameters after the model was wrapped '
                    'in DistributedDataParallel, which then waits for their '
                    'gradients forever. Set model_wrapper_cfg=dict(type='
                    "'MMDistributedDataParallel', find_unused_parameters=True)"
                    ' in the config.')
            model = model.module

        kept: List[str] = []
        frozen = 0
        for name, param in model.named_parameters():
            if any(match_module_path(name, t) for t in self.trainable):
                if param.requires_grad:
                    kept.append(name)
            else:
                if param.requires_grad:
                    frozen += 1
                param.requires_grad_(False)
                param.grad = None
        if not kept:
            raise ValueError(
                f'FixResHook: no trainable parameter under {self.trainable} '
                f'in {type(model).__name__}; top-level modules: '
                f'{[n for n, _ in model.named_children()]}')

        self._frozen_bns = [
            mod for name, mod in model.named_modules()
            if isinstance(mod, _BatchNorm) and not any(
                match_module_path(name, t) for t in self.trainable)
        ]
        for bn in self._frozen_bns:
            bn.train(self.update_bn_stats)

        if self.train_pipeline is not None:
            # Reuse MMPretrain's pipeline switch (handles dataset wrappers and
            # restarts persistent workers).
            SwitchRecipeHook._switch_train_pipeline(runner, self.train_pipeline)
        self.applied = True
        bn_state = ('adapting (train mode)'
                    if self.update_bn_stats else 'frozen (eval mode)')
        runner.logger.info(
            f'FixResHook applied {reason}: {len(kept)} parameter tensors stay '
            f'trainable: {kept}; {frozen} more frozen; running statistics of '
            f'{len(self._frozen_bns)} BN layers outside {list(self.trainable)} '
            f'{bn_state}' +
            ('; train pipeline switched' if self.train_pipeline else '') + '.')
