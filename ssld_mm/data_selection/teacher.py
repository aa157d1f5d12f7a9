"""The teacher side of top-k selection: model, test pipeline, pool loader.

Any MMPretrain classifier config + checkpoint works as the teacher: the model
is built under the config's ``default_scope`` (``mmpretrain`` when unset, so
plain upstream configs work; ``ssld_mm`` configs resolve our own types too),
the weights are loaded from the checkpoint, and images go through the config's
*test* pipeline.
"""
import copy
import time
import warnings
from contextlib import contextmanager
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.config import Config
from torch.utils.data import DataLoader, Dataset

from ssld_mm.datasets.image_list import iter_image_list, resolve_image_path
from ssld_mm.utils.autocast import autocast_context
from ssld_mm.utils.config import load_config_file
from ssld_mm.utils.state_dict import checkpoint_state_dict
from . import resumable as rs


def load_teacher_config(config: Union[str, Config]) -> Config:
    """Load a teacher config file (clear error for a missing path); a
    :class:`Config` is returned as is."""
    if isinstance(config, Config):
        return config
    return load_config_file(config, 'teacher config', ('model', ))


def build_teacher(cfg: Config, checkpoint: str, device: str = 'cpu') -> torch.nn.Module:
    """Build the classifier of ``cfg``, load ``checkpoint``, eval mode.

    Args:
        cfg (Config): A classifier config (``cfg.model``).
        checkpoint (str): Checkpoint with the classifier's ``state_dict``
            (MMEngine/MMPretrain checkpoints, or a bare state dict).
        device (str): Device to move the model to. Defaults to ``'cpu'``.

    Returns:
        torch.nn.Module: The model in eval mode, parameters without grad.

    Raises:
        ValueError: If the checkpoint lacks weights of the model (a teacher
            with random weights would select garbage silently). Extra keys in
            the checkpoint only warn.
    """
    import mmpretrain.registry  # noqa: F401  (creates the mmpretrain node)
    from mmengine.registry import MODELS, DefaultScope

    import ssld_mm.registry  # noqa: F401  (creates the ssld_mm node)
    from ssld_mm.utils import load_local_checkpoint, register_all_modules

    register_all_modules(init_default_scope=False)
    if 'model' not in cfg:
        raise ValueError('the teacher config has no `model` field')
    scope = cfg.get('default_scope', None) or 'mmpretrain'
    model_cfg = copy.deepcopy(cfg.model)
    # MMPretrain's configs keep the normalisation at the top level
    # (``data_preprocessor = dict(mean=..., std=...)``), as get_model reads it.
    if model_cfg.get('data_preprocessor', None) is None and \
            cfg.get('data_preprocessor', None) is not None:
        model_cfg['data_preprocessor'] = copy.deepcopy(cfg.data_preprocessor)
    with DefaultScope.overwrite_default_scope(scope):
        model = MODELS.build(model_cfg)

    ckpt = load_local_checkpoint(checkpoint, map_location='cpu')
    state = checkpoint_state_dict(ckpt, checkpoint)
    result = model.load_state_dict(state, strict=False)
    if result.missing_keys:
        raise ValueError(
            f'checkpoint {checkpoint!r} lacks {len(result.missing_keys)} '
            f'weights of the teacher model, e.g. {result.missing_keys[:5]}; '
            'is it a checkpoint of this config?')
    if result.unexpected_keys:
        warnings.warn(f'checkpoint {checkpoint!r} has '
                      f'{len(result.unexpected_keys)} keys the teacher does '
                      f'not use, e.g. {result.unexpected_keys[:5]}')
    model.to(device)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def teacher_test_pipeline(cfg: Config) -> List[dict]:
    """The config's test pipeline (test, then val dataloader, then
    ``test_pipeline``), starting with an image-loading transform.

    Raises:
        ValueError: If the config defines none.
    """
    for field in ('test_dataloader', 'val_dataloader'):
        loader = cfg.get(field, None)
        if loader and loader.get('dataset', None) and \
                loader.dataset.get('pipeline', None):
            return list(loader.dataset.pipeline)
    if cfg.get('test_pipeline', None):
        return list(cfg.test_pipeline)
    raise ValueError('the teacher config defines no test pipeline '
                     '(test_dataloader.dataset.pipeline, '
                     'val_dataloader.dataset.pipeline or test_pipeline)')


def build_pipeline(cfg: Config, pipeline: Optional[Sequence[dict]] = None):
    """Build ``pipeline`` (default: the test pipeline) under the config's
    default scope; returns an :class:`mmengine.dataset.Compose`."""
    import mmpretrain.registry  # noqa: F401
    from mmengine.dataset import Compose
    from mmengine.registry import DefaultScope

    import ssld_mm.registry  # noqa: F401
    from ssld_mm.utils import register_all_modules

    register_all_modules(init_default_scope=False)
    if pipeline is None:
        pipeline = teacher_test_pipeline(cfg)
    scope = cfg.get('default_scope', None) or 'mmpretrain'
    with DefaultScope.overwrite_default_scope(scope):
        return Compose([dict(t) for t in pipeline])


class PathTable:
    """Many paths in two flat arrays (UTF-8 bytes + offsets).

    A Python list of millions of strings costs about 100 bytes per path and
    its reference counts are touched by forked DataLoader workers, which then
    copy the pages; two numpy arrays are compact and shared.

    Args:
        paths (Sequence[str]): The paths.
    """

    def __init__(self, paths: Sequence[str]) -> None:
        encoded = [p.encode('utf-8') for p in paths]
        self._offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        if encoded:
            np.cumsum([len(e) for e in encoded], out=self._offsets[1:])
        self._blob = np.frombuffer(b''.join(encoded), dtype=np.uint8) \
            if encoded else np.zeros(0, np.uint8)

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def __getitem__(self, i: int) -> str:
        a, b = self._offsets[i], self._offsets[i + 1]
        return self._blob[a:b].tobytes().decode('utf-8')


class PoolDataset(Dataset):
    """Pool images through the teacher's pipeline; failures become records.

    An image that cannot be read or transformed yields
    ``{'idx': i, 'error': message}`` instead of raising, so one corrupt file
    neither stops a run over millions of images nor shifts its batches.

    Args:
        indices (np.ndarray): Pool indices (positions in the pool list).
        paths (PathTable): Resolved image paths, aligned with ``indices``.
        pipeline (callable): The built test pipeline.
    """

    def __init__(self, indices: np.ndarray, paths: PathTable, pipeline: Any) -> None:
        if len(indices) != len(paths):
            raise ValueError(f'{len(indices)} indices for {len(paths)} paths')
        self.indices = np.asarray(indices, dtype=np.int64)
        self.paths = paths
        self.pipeline = pipeline

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> Dict[str, Any]:
        idx = int(self.indices[i])
        path = self.paths[i]
        try:
            out = self.pipeline({'img_path': path, 'sample_idx': idx})
            if out is None:
                raise ValueError('the pipeline returned None')
            inputs = out['inputs']
            if not isinstance(inputs, torch.Tensor):
                raise TypeError(f'pipeline gave inputs of type {type(inputs)}')
        except Exception as e:  # noqa: BLE001 (any failure: skip the image)
            return {'idx': idx, 'error': f'{type(e).__name__}: {e}'.strip()}
        return {'idx': idx, 'inputs': inputs}


@contextmanager
def single_threaded_opencv():
    """Run OpenCV single-threaded while DataLoader workers are forked.

    The workers are the parallelism; OpenCV's own thread pool in each of them
    would oversubscribe the CPUs. It must be switched off in the *parent*
    before the fork (as MMEngine does): calling ``cv2.setNumThreads`` inside a
    forked worker after the parent started OpenCV's thread pool deadlocks.
    The parent's setting is restored afterwards.
    """
    import cv2
    old = cv2.getNumThreads()
    cv2.setNumThreads(0)
    try:
        yield
    finally:
        cv2.setNumThreads(old)


def collate_pool(batch: List[Dict[str, Any]]) -> Dict[str, Any]:
    """Split loaded images from failures; stack images of equal shape.

    Returns:
        dict: ``idx`` (int64 tensor of the loaded images), ``inputs`` (a
        stacked tensor, or a list if shapes differ, or None if none loaded),
        ``failed`` (list of ``(idx, message)``).
    """
    ok = [b for b in batch if 'error' not in b]
    failed = [(b['idx'], b['error']) for b in batch if 'error' in b]
    idx = torch.tensor([b['idx'] for b in ok], dtype=torch.int64)
    inputs = [b['inputs'] for b in ok]
    if inputs and all(x.shape == inputs[0].shape for x in inputs):
        inputs = torch.stack(inputs)
    return {'idx': idx, 'inputs': inputs if ok else None, 'failed': failed}


def teacher_softmax(model: torch.nn.Module,
                    x: torch.Tensor,
                    autocast: Optional[str] = None) -> torch.Tensor:
    """Float32 softmax of the teacher's logits on preprocessed inputs.

    Runs the model in ``'tensor'`` mode under ``torch.autocast(autocast)``
    (None: full precision); a tuple/list output gives its last element.

    Raises:
        TypeError: If the model does not return ``(batch, classes)`` logits.
    """
    with autocast_context(x.device.type, autocast):
        logits = model(x, mode='tensor')
    if isinstance(logits, (tuple, list)):
        logits = logits[-1]
    if not isinstance(logits, torch.Tensor) or logits.dim() != 2:
        raise TypeError('the teacher must return (batch, classes) logits in '
                        f"mode='tensor', got {type(logits)}")
    return logits.float().softmax(dim=-1)


def teacher_probs(model: torch.nn.Module,
                  inputs: Any,
                  fp16: bool = False) -> torch.Tensor:
    """Softmax probabilities of the teacher for a batch of raw inputs.

    Runs the model's data preprocessor (normalisation, BGR->RGB on the
    device) and the model in ``'tensor'`` mode (logits), then a softmax in
    float32 (:func:`teacher_softmax`); ``fp16`` autocasts to float16 on CUDA,
    bfloat16 on CPU.
    """
    x = model.data_preprocessor({'inputs': inputs}, False)['inputs']
    dtype = ('float16' if x.device.type == 'cuda' else 'bfloat16') if fp16 else None
    return teacher_softmax(model, x, dtype)


def resolve_device(device: Optional[str] = None,
                   local_rank: int = 0) -> Tuple[str, bool]:
    """``(device, is_cuda)``: the given device, else ``cuda:<local_rank>`` if
    CUDA is available, else ``cpu``."""
    if device is None:
        device = f'cuda:{local_rank}' if torch.cuda.is_available() else 'cpu'
    is_cuda = str(device).startswith('cuda')
    if is_cuda:
        index = torch.device(device).index or 0
        if index >= torch.cuda.device_count():
            raise ValueError(
                f'device {device!r} does not exist: {torch.cuda.device_count()}'
                ' CUDA device(s) visible (more processes than GPUs?)')
    return device, is_cuda


# ------------------------------------------------- the teacher over chunks
def pending_entries(list_path: str, data_prefix: str, chunk_size: int,
                    pending: Sequence[int]) -> Tuple[np.ndarray, PathTable]:
    """List indices and resolved paths of the pending chunks, in order."""
    wanted = set(pending)
    indices, paths = [], []
    for i, entry in enumerate(iter_image_list(list_path)):
        if i // chunk_size in wanted:
            indices.append(i)
            paths.append(resolve_image_path(entry.path, data_prefix))
    return np.array(indices, dtype=np.int64), PathTable(paths)


def batch_plan(indices: np.ndarray, chunk_size: int,
               batch_size: int) -> List[Tuple[int, List[int], bool]]:
    """Batches of dataset positions that never cross a chunk boundary.

    Returns:
        list[tuple[int, list[int], bool]]: ``(chunk_id, positions,
        last_batch_of_chunk)``; batch composition depends only on the chunk,
        so a resumed or sharded run feeds the teacher identical batches.
    """
    plan = []
    chunk_of = indices // chunk_size
    starts = np.flatnonzero(np.r_[True, chunk_of[1:] != chunk_of[:-1]]) \
        if len(indices) else np.zeros(0, np.int64)
    ends = np.r_[starts[1:], len(indices)]
    for s, e in zip(starts.tolist(), ends.tolist()):
        for b in range(s, e, batch_size):
            plan.append((int(chunk_of[s]), list(range(b, min(b + batch_size,
                                                             e))), b + batch_size >= e))
    return plan


def chunk_loader(dataset: Dataset, plan: List[Tuple[int, List[int],
                                                    bool]], collate_fn: Callable,
                 num_workers: int, pin_memory: bool) -> DataLoader:
    """A DataLoader that yields the batches of ``plan`` (:func:`batch_plan`)
    in order."""
    return DataLoader(
        dataset,
        batch_sampler=[p[1] for p in plan],
        num_workers=num_workers,
        collate_fn=collate_fn,
        pin_memory=pin_memory,
        prefetch_factor=4 if num_workers > 0 else None)


def run_chunk_batches(run: rs.ShardRun, plan: List[Tuple[int, List[int], bool]],
                      loader: DataLoader, compute: Callable[[Dict[str, Any]], Any],
                      chunks: Any, stats: Dict[str, Any], desc: str) -> None:
    """Feed the teacher every planned batch; save each chunk at its last one.

    ``compute(batch)`` runs the teacher on a batch with loaded images and
    returns its result on the device (a batch whose images all failed gets
    None). ``chunks.add(result, batch)`` takes a batch back on the host only
    once the next batch is queued, so the device never idles on the copy; at
    a chunk's last batch ``chunks.write(chunk_id)`` saves it and
    ``run.on_chunk_done(chunk_id)`` is called. ``stats`` gets ``images``,
    ``chunks_run`` and ``seconds`` added.

    Args:
        run (ShardRun): Progress bar, ``on_chunk_done``.
        plan (list): :func:`batch_plan` of the loader's dataset.
        loader (DataLoader): :func:`chunk_loader` over ``plan``.
        compute (callable): The teacher step.
        chunks: Collects a chunk's results (``add``) and saves them
            (``write``).
        stats (dict): Counters of the shard run (:meth:`ShardRun.pending`).
        desc (str): Progress bar label, followed by the shard.
    """
    bar = rs.progress_bar(len(loader.dataset), f'{desc} {run.name}', run.progress)

    def collect(chunk_id: int, is_last: bool, res: Any, batch: Dict[str, Any],
                n_images: int) -> None:
        chunks.add(res, batch)
        if bar is not None:
            bar.update(n_images)
        if is_last:
            chunks.write(chunk_id)
            stats['chunks_run'] += 1
            if run.on_chunk_done is not None:
                run.on_chunk_done(chunk_id)

    waiting = None  # the last batch, collected once the next one is queued
    t0 = time.time()
    with torch.inference_mode(), single_threaded_opencv():
        for (chunk_id, positions, is_last), batch in zip(plan, loader):
            res = None if batch['inputs'] is None else compute(batch)
            if waiting is not None:
                collect(*waiting)
            waiting = (chunk_id, is_last, res, batch, len(positions))
            stats['images'] += len(positions)
        if waiting is not None:
            collect(*waiting)
    if bar is not None:
        bar.close()
    stats['seconds'] = time.time() - t0
