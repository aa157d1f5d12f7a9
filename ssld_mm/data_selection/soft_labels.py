"""Generate a soft-label store: the teacher's top-K on M random views per image.

FKD-style stored-teacher distillation (Shen & Xing, ECCV 2022): every image of
a training list gets ``M`` views drawn with the *student's* training crop and
flip (their parameters come from the student config's train pipeline,
``RandomResizedCrop`` + ``RandomFlip``, and the sampling is MMPretrain's own
``rand_crop_params`` / ``_choose_direction`` run under a seed derived from
``(seed, sample, view)``, so a re-run draws identical views); the teacher
(any MMPretrain classifier, with its own normalisation) predicts each view and
its top-K probabilities are stored (format: ``docs/soft_label_store.md``).

It scales like ``select_topk``: the list is processed in chunks of
``samples_per_shard`` consecutive entries, each chunk becomes one store shard,
written atomically, so a killed run resumes without redoing finished shards and
produces identical files; ``shard=(i, n)`` or a distributed launcher splits the
chunks over processes sharing the store directory, and whichever process finds
every shard done writes ``skipped.txt`` and, last, ``index.json``.
"""
import hashlib
import json
import os.path as osp
from contextlib import contextmanager
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple, Union

import numpy as np
import torch
from mmengine.config import Config
from torch.utils.data import Dataset

from ssld_mm.datasets.image_list import iter_image_list
from ssld_mm.datasets.soft_label_store import (INDEX_FILE, SKIPPED_FILE, hash_ints,
                                               make_index, normalize_crop_size,
                                               save_index, save_shard, shard_name)
from ssld_mm.utils.autocast import check_autocast
from ssld_mm.utils.config import load_config_file
from . import resumable as rs

_FORMAT_VERSION = 1
_CROP_TYPES = ('RandomResizedCrop', 'RandomCrop')
_FLIP_TYPES = ('RandomFlip', )
_LOAD_TYPES = ('LoadImageFromFile', )
#: deterministic transforms allowed before the crop (boxes are in their frame)
_PRE_CROP_TYPES = _LOAD_TYPES + ('Resize', 'ResizeEdge')


def _type_name(t: dict) -> str:
    return str(t.get('type', '')).split('.')[-1]


def _pipelines_in(node: Any) -> Iterator[list]:
    """Every ``pipeline`` list inside a (nested) dataset config."""
    if isinstance(node, dict):
        if isinstance(node.get('pipeline', None), (list, tuple)):
            yield list(node['pipeline'])
        for key in ('dataset', 'datasets'):
            if key in node:
                yield from _pipelines_in(node[key])
    elif isinstance(node, (list, tuple)):
        for item in node:
            yield from _pipelines_in(item)


def find_view_transforms(cfg: Config) -> Dict[str, Any]:
    """The loading, crop and flip transforms of a student's train pipeline.

    Searches ``train_dataloader.dataset`` (through wrappers such as
    ``ConcatDataset``/``SubsetDataset``), then ``train_pipeline``, for the
    first pipeline with a ``RandomResizedCrop`` or a ``RandomCrop``.

    Returns:
        dict: ``load`` (list of the transforms before the crop: image loading
        and deterministic resizing), ``crop`` (the crop's config), ``flip``
        (the ``RandomFlip`` config right after it, or None), ``rest`` (the
        transforms after them, which training applies to the replayed view)
        and ``scope`` (the config's default scope).

    Raises:
        ValueError: If there is no such crop, if a random or unknown transform
            precedes it (only image loading and ``Resize``/``ResizeEdge``,
            whose output frame the boxes are given in, may), for a
            ``RandomCrop`` with ``pad_if_needed`` or a non-constant padding,
            or for a flip that is not horizontal.
    """
    candidates = list(
        _pipelines_in(cfg.get('train_dataloader', {}).get('dataset', {}))) if cfg.get(
            'train_dataloader', None) else []
    if cfg.get('train_pipeline', None):
        candidates.append(list(cfg.train_pipeline))
    for pipeline in candidates:
        names = [_type_name(t) for t in pipeline]
        crop_at = [i for i, n in enumerate(names) if n in _CROP_TYPES]
        if not crop_at:
            continue
        c = crop_at[0]
        before = [n for n in names[:c] if n not in _PRE_CROP_TYPES]
        if before:
            raise ValueError(
                f'the train pipeline has {before} before {names[c]}; stored '
                'views are boxes in the frame of the image entering the crop, '
                f'so only {list(_PRE_CROP_TYPES)} may come before it')
        crop = dict(pipeline[c])
        if names[c] == 'RandomCrop' and (crop.get('pad_if_needed', False) or crop.get(
                'padding_mode', 'constant') != 'constant'):
            raise ValueError(
                'stored views support RandomCrop with constant padding and '
                f'pad_if_needed=False, got {crop}')
        flip = None
        if c + 1 < len(names) and names[c + 1] in _FLIP_TYPES:
            flip = dict(pipeline[c + 1])
            direction = flip.get('direction', 'horizontal')
            if direction != 'horizontal' or not isinstance(
                    flip.get('prob', None), (int, float)):
                raise ValueError('stored views support RandomFlip(prob=<float>, '
                                 f"direction='horizontal'), got {flip}")
        return dict(
            load=[dict(t) for t in pipeline[:c]],
            crop=crop,
            flip=flip,
            rest=[dict(t) for t in pipeline[c + (2 if flip else 1):]],
            scope=cfg.get('default_scope', None) or 'mmpretrain')
    raise ValueError(
        'the student train config has no RandomResizedCrop or RandomCrop '
        'in its train '
        'pipeline (train_dataloader.dataset...pipeline or train_pipeline); '
        'pass the config of the online (random-crop) training run')


def view_seed(seed: int, sample_idx: int, view: int) -> int:
    """The 32-bit NumPy seed of one view (a fixed hash, see ``hash_ints``)."""
    return hash_ints(seed, sample_idx, view) & 0xFFFFFFFF


@contextmanager
def seeded_global_numpy(seed: int) -> Iterator[None]:
    """Seed NumPy's global generator (what MMPretrain's transforms draw
    from) inside the block and restore its previous state afterwards."""
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


class ViewSampler:
    """Draw and render views exactly as the student's train pipeline does.

    ``RandomResizedCrop``: the box is the crop, resized to ``scale``.
    ``RandomCrop(padding=p)``: the box is the crop of the padded image, given
    in the unpadded frame (it may leave the image by up to ``p`` pixels,
    which are ``pad_val``); no resize.

    Args:
        crop (RandomResizedCrop | RandomCrop): The built crop transform.
        flip (RandomFlip, optional): The built flip transform (horizontal).
        seed (int): Store seed.
        scope (str): Default scope of the student config (its loading
            transforms are built in it). Defaults to 'mmpretrain'.

    Example:
        >>> sampler = ViewSampler.from_config(student_cfg, seed=0)
        >>> box, flip = sampler.params(img.shape[:2], sample_idx=3, view=0)
        >>> view_img = sampler.render(img, box, flip)
    """

    def __init__(self,
                 crop: Any,
                 flip: Optional[Any],
                 seed: int,
                 scope: str = 'mmpretrain') -> None:
        self.crop = crop
        self.flip = flip
        self.seed = int(seed)
        self.scope = scope

    @classmethod
    def from_config(cls, cfg: Config, seed: int) -> 'ViewSampler':
        """Build from a student config (see :func:`find_view_transforms`)."""
        from .teacher import build_pipeline
        found = find_view_transforms(cfg)
        steps = [found['crop']] + ([found['flip']] if found['flip'] else [])
        built = build_pipeline(Config(dict(default_scope=found['scope'])),
                               steps).transforms
        return cls(built[0], built[1] if found['flip'] else None, seed, found['scope'])

    @property
    def resized(self) -> bool:
        """Whether the crop is resized (``RandomResizedCrop``)."""
        return hasattr(self.crop, 'crop_ratio_range')

    @property
    def crop_size(self) -> Tuple[int, int]:
        """``(h, w)`` of the rendered view."""
        size = self.crop.scale if self.resized else self.crop.crop_size
        return normalize_crop_size(tuple(size))

    @property
    def padding(self) -> Tuple[int, int, int, int]:
        """``(left, top, right, bottom)`` padding of a ``RandomCrop``."""
        p = None if self.resized else self.crop.padding
        if p is None:
            return (0, 0, 0, 0)
        if isinstance(p, (int, np.integer)):
            return (int(p), ) * 4
        p = tuple(int(v) for v in p)
        return p * 2 if len(p) == 2 else p

    def describe(self) -> Dict[str, Any]:
        """The sampling parameters, for ``index.json``."""
        c = self.crop
        if not self.resized:
            out = {
                'RandomCrop':
                dict(
                    crop_size=list(self.crop_size),
                    padding=list(self.padding),
                    pad_val=c.pad_val)
            }
            if self.flip is not None:
                out['RandomFlip'] = dict(
                    prob=float(self.flip.prob), direction='horizontal')
            return out
        out = {
            'RandomResizedCrop':
            dict(
                scale=list(self.crop_size),
                crop_ratio_range=[float(x) for x in c.crop_ratio_range],
                aspect_ratio_range=[float(x) for x in c.aspect_ratio_range],
                max_attempts=int(c.max_attempts),
                interpolation=c.interpolation,
                backend=c.backend)
        }
        if self.flip is not None:
            out['RandomFlip'] = dict(prob=float(self.flip.prob), direction='horizontal')
        return out

    def params(self, img_hw: Tuple[int, int], sample_idx: int,
               view: int) -> Tuple[np.ndarray, bool]:
        """Box ``(x1, y1, x2, y2)`` (inclusive, pixels of the image entering
        the crop) and flip of one view: the crop's and then the flip's random
        draws, under :func:`view_seed` (the sequence the pipeline consumes)."""
        left, top, right, bottom = self.padding
        hw = (img_hw[0] + top + bottom, img_hw[1] + left + right)
        dummy = np.broadcast_to(np.zeros((), np.uint8), hw)
        with seeded_global_numpy(view_seed(self.seed, sample_idx, view)):
            oh, ow, th, tw = self.crop.rand_crop_params(dummy)
            flip = self.flip is not None and \
                self.flip._choose_direction() is not None
        x1, y1 = ow - left, oh - top
        box = np.array([x1, y1, x1 + tw - 1, y1 + th - 1], np.int32)
        return box, bool(flip)

    def render(self, img: np.ndarray, box: np.ndarray, flip: bool) -> np.ndarray:
        """The view as the pipeline makes it: crop (padded), resize (for
        ``RandomResizedCrop``), optional flip."""
        import mmcv
        if self.resized:
            out = mmcv.imcrop(img, bboxes=np.asarray(box))
            out = mmcv.imresize(
                out,
                tuple(self.crop_size[::-1]),
                interpolation=self.crop.interpolation,
                backend=self.crop.backend)
        else:
            # pad exactly as RandomCrop does (mmcv.impad, cv2 semantics of
            # pad_val included), then crop the box shifted into that frame
            left, top = self.padding[:2]
            if self.crop.padding is not None:
                img = mmcv.impad(
                    img, padding=self.crop.padding, pad_val=self.crop.pad_val)
            out = mmcv.imcrop(
                img, bboxes=np.asarray(box) + np.array([left, top, left, top]))
        if flip:
            out = mmcv.imflip(out, direction='horizontal')
        return out


def _to_chw(img: np.ndarray) -> np.ndarray:
    """HWC (or HW) image -> CHW, as ``PackInputs`` packs it."""
    if img.ndim == 2:
        img = img[..., None]
    return np.ascontiguousarray(img.transpose(2, 0, 1))


class ViewDataset(Dataset):
    """Images of the list -> their ``M`` rendered views (failures as records).

    Args:
        indices (np.ndarray): List entries to load.
        paths (PathTable): Their resolved image paths.
        load (callable): The built loading transforms of the train pipeline.
        sampler (ViewSampler): The view sampler.
        num_views (int): M.
    """

    def __init__(self, indices: np.ndarray, paths: Any, load: Any, sampler: ViewSampler,
                 num_views: int) -> None:
        self.indices = np.asarray(indices, dtype=np.int64)
        self.paths = paths
        self.load = load
        self.sampler = sampler
        self.num_views = int(num_views)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> Dict[str, Any]:
        idx = int(self.indices[i])
        try:
            res = self.load({'img_path': self.paths[i], 'sample_idx': idx})
            img = None if res is None else res.get('img', None)
            if img is None:
                raise ValueError('the loading transforms gave no image')
            boxes, flips, views = [], [], []
            for v in range(self.num_views):
                box, flip = self.sampler.params(img.shape[:2], idx, v)
                boxes.append(box)
                flips.append(flip)
                views.append(_to_chw(self.sampler.render(img, box, flip)))
        except Exception as e:  # noqa: BLE001 (skip and list the image)
            return {'idx': idx, 'error': f'{type(e).__name__}: {e}'.strip()}
        return {
            'idx': idx,
            'inputs': torch.from_numpy(np.stack(views)),
            'box': np.stack(boxes),
            'flip': np.array(flips, np.bool_)
        }


def collate_views(batch: List[Dict[str, Any]]) -> Dict[str, Any]:
    """Stack the views of the loaded images (``(B*M, C, H, W)``), keep the
    failures as ``(idx, message)``."""
    ok = [b for b in batch if 'error' not in b]
    return {
        'idx': np.array([b['idx'] for b in ok], np.int64),
        'inputs': torch.cat([b['inputs'] for b in ok]) if ok else None,
        'box': np.concatenate([b['box'] for b in ok]) if ok else None,
        'flip': np.concatenate([b['flip'] for b in ok]) if ok else None,
        'failed': [(b['idx'], b['error']) for b in batch if 'error' in b],
    }


def teacher_view_probs(model: torch.nn.Module,
                       inputs: torch.Tensor,
                       autocast: Optional[str] = None,
                       channels_last: bool = False) -> torch.Tensor:
    """Float32 softmax of the teacher on raw (uint8) views.

    The teacher's own data preprocessor normalises (mean/std, BGR->RGB),
    then the model runs in ``'tensor'`` mode, optionally channels-last and
    under ``torch.autocast(dtype)`` (:func:`~ssld_mm.data_selection.teacher.
    teacher_softmax`).
    """
    from .teacher import teacher_softmax
    x = model.data_preprocessor({'inputs': inputs}, False)['inputs']
    if channels_last and x.dim() == 4:
        x = x.contiguous(memory_format=torch.channels_last)
    return teacher_softmax(model, x, autocast)


# ------------------------------------------------------------ chunk files
def _chunk_info_path(store_dir: str, chunk_id: int) -> str:
    return osp.join(store_dir, f'shard_{chunk_id:05d}.info.json')


def done_shards(store_dir: str, total: int) -> List[int]:
    """Shards whose ``.npz`` exists (written atomically, after its info)."""
    return [s for s in range(total) if osp.isfile(osp.join(store_dir, shard_name(s)))]


class _StoreChunk:
    """The rows of one store shard, written at its last batch (the
    ``chunks`` of :func:`~ssld_mm.data_selection.teacher.run_chunk_batches`):
    its info (failures, classes), then its ``.npz``.

    Args:
        store_dir (str): The store.
        num_views (int): M.
        topk (int): K.
    """

    def __init__(self, store_dir: str, num_views: int, topk: int) -> None:
        self.store_dir, self.num_views, self.topk = store_dir, num_views, topk
        self.num_classes = 0
        self._rows: Dict[str, list] = {
            k: []
            for k in ('sample_idx', 'view', 'box', 'flip', 'topk_idx', 'topk_prob')
        }
        self._failed: List[Tuple[int, str]] = []

    def add(self, res, batch: Dict[str, Any]) -> None:
        """Take one batch's top-k ``(values, indices)`` (copied to the host)."""
        self._failed.extend(batch['failed'])
        if res is None:
            return
        tp, tc = (t.cpu().numpy() for t in res)
        rows, m = self._rows, self.num_views
        rows['sample_idx'].append(np.repeat(batch['idx'], m))
        rows['view'].append(np.tile(np.arange(m, dtype=np.int16), len(batch['idx'])))
        rows['box'].append(batch['box'])
        rows['flip'].append(batch['flip'])
        rows['topk_idx'].append(tc.astype(np.int32))
        rows['topk_prob'].append(tp.astype(np.float16))

    def write(self, chunk_id: int) -> None:
        """Save the store shard; start the next."""
        failed, topk = sorted(self._failed), self.topk
        rs.write_json_atomic(
            _chunk_info_path(self.store_dir, chunk_id),
            dict(
                num_classes=int(self.num_classes),
                failed=[[int(i), m] for i, m in failed]))
        if self._rows['sample_idx']:
            arrays = {k: np.concatenate(v) for k, v in self._rows.items()}
        else:
            arrays = dict(
                sample_idx=np.zeros(0, np.int64),
                view=np.zeros(0, np.int16),
                box=np.zeros((0, 4), np.int32),
                flip=np.zeros(0, np.bool_),
                topk_idx=np.zeros((0, topk), np.int32),
                topk_prob=np.zeros((0, topk), np.float16))
        save_shard(self.store_dir, chunk_id, arrays, topk=topk)
        for v in self._rows.values():
            v.clear()
        self._failed.clear()


def run_generation_shard(cfg: Config, checkpoint: str, sampler: ViewSampler,
                         list_path: str, store_dir: str, manifest: Dict[str, Any],
                         total_chunks: int, run: rs.ShardRun) -> Dict[str, Any]:
    """Run the teacher over this shard's unfinished chunks.

    Args:
        cfg (Config): Teacher config.
        checkpoint (str): Teacher checkpoint.
        sampler (ViewSampler): The view sampler.
        list_path (str): Image list.
        store_dir (str): The store.
        manifest (dict): The run's settings as the store records them
            (``load_pipeline``, ``num_views``, ``topk``,
            ``samples_per_shard``, ``batch_size``, ``data_prefix``,
            ``teacher_autocast``, ``channels_last``): the shard runs exactly
            what it records.
        total_chunks (int): Store shards of the whole list.
        run (ShardRun): This process's shard and how to run it.

    Returns:
        dict: ``chunks_skipped``, ``chunks_run``, ``images``, ``views`` and
        ``seconds`` of this call.
    """
    from .teacher import (batch_plan, build_pipeline, build_teacher, chunk_loader,
                          pending_entries, resolve_device, run_chunk_batches)

    m = manifest
    num_views, topk, per_shard = m['num_views'], m['topk'], m['samples_per_shard']
    pending, stats = run.pending(total_chunks, done_shards(store_dir, total_chunks),
                                 'store shards')
    stats['views'] = 0
    if not pending:
        return stats
    indices, paths = pending_entries(list_path, m['data_prefix'], per_shard, pending)
    device, is_cuda = resolve_device(run.device)
    model = build_teacher(cfg, checkpoint, device)
    if m['channels_last']:
        model.to(memory_format=torch.channels_last)
    # the loading transforms are the student's: build them in its scope
    load = build_pipeline(Config(dict(default_scope=sampler.scope)), m['load_pipeline'])
    plan = batch_plan(indices, per_shard, m['batch_size'])
    loader = chunk_loader(
        ViewDataset(indices, paths, load, sampler, num_views), plan, collate_views,
        run.num_workers, is_cuda)
    chunks = _StoreChunk(store_dir, num_views, topk)

    def compute(batch):
        inputs = batch['inputs'].to(device, non_blocking=True)
        probs = teacher_view_probs(model, inputs, m['teacher_autocast'],
                                   m['channels_last'])
        if probs.shape[1] < topk:
            raise ValueError(f'--topk {topk} > the teacher\'s '
                             f'{probs.shape[1]} classes')
        chunks.num_classes = probs.shape[1]
        stats['views'] += len(inputs)
        return probs.topk(topk, dim=1)  # (values, indices), descending

    run_chunk_batches(run, plan, loader, compute, chunks, stats, 'soft labels')
    rate = stats['images'] / max(stats['seconds'], 1e-9)
    run.log(f'shard {run.name}: {stats["images"]} images '
            f'({stats["views"]} views) in {stats["seconds"]:.1f}s '
            f'({rate:.1f} img/s, {rate * num_views:.1f} views/s)')
    return stats


def finalize_store(store_dir: str,
                   list_path: str,
                   manifest: Dict[str, Any],
                   total_chunks: int,
                   data_prefix: str = '') -> Dict[str, Any]:
    """Write ``skipped.txt`` and (last) ``index.json`` once all shards exist.

    Returns:
        dict: The index.
    """
    from ssld_mm.datasets.image_list import resolve_image_path
    num_classes, failed = 0, []
    for c in range(total_chunks):
        with open(_chunk_info_path(store_dir, c), encoding='utf-8') as f:
            info = json.load(f)
        num_classes = max(num_classes, int(info['num_classes']))
        failed.extend(info['failed'])
    if num_classes == 0:
        raise ValueError(f'no image of {list_path!r} could be read (see the '
                         f'*.info.json files in {store_dir})')
    fail_of = {int(i): m for i, m in failed}
    lines = []
    if fail_of:
        for i, entry in enumerate(iter_image_list(list_path)):
            if i in fail_of:
                lines.append(f'{i}\t{resolve_image_path(entry.path, data_prefix)}'
                             f'\t{" ".join(fail_of[i].split())}')
    rs.write_lines_atomic(osp.join(store_dir, SKIPPED_FILE), lines)
    m = manifest
    index = make_index(
        list_path=list_path,
        list_sha1=m['list_sha1'],
        num_samples=m['num_samples'],
        num_views=m['num_views'],
        topk=m['topk'],
        num_classes=num_classes,
        crop_size=m['crop_size'],
        seed=m['seed'],
        samples_per_shard=m['samples_per_shard'],
        teacher_config=m['teacher_config'],
        teacher_config_sha1=m['teacher_config_sha1'],
        teacher_checkpoint=m['teacher_checkpoint'],
        teacher_checkpoint_fingerprint=m['teacher_checkpoint_fingerprint'],
        view_sampler=m['view_sampler'],
        data_prefix=data_prefix,
        num_skipped=len(lines),
        teacher_autocast=m['teacher_autocast'])
    save_index(store_dir, index)
    return index


def generate_soft_labels(teacher_config: Union[str, Config],
                         checkpoint: str,
                         train_config: Union[str, Config],
                         list_path: str,
                         out: str,
                         *,
                         views: int,
                         topk: int,
                         seed: int = 0,
                         data_prefix: str = '',
                         samples_per_shard: int = 10000,
                         batch_size: int = 32,
                         num_workers: int = 4,
                         device: Optional[str] = None,
                         shard: Tuple[int, int] = (0, 1),
                         teacher_autocast: Optional[str] = None,
                         channels_last: bool = False,
                         progress: bool = True,
                         on_chunk_done: Optional[Callable[[int], None]] = None,
                         log: Callable[[str], None] = print) -> Dict[str, Any]:
    """Generate (or resume, or contribute a shard to) a soft-label store.

    Args:
        teacher_config (str | Config): Teacher config (any MMPretrain
            classifier; its ``data_preprocessor`` normalises the views).
        checkpoint (str): Teacher checkpoint.
        train_config (str | Config): The student's (online) training config:
            its train pipeline's ``RandomResizedCrop`` / ``RandomFlip`` give the
            view distribution and crop size, its loading transforms (before
            the crop) read the images.
        list_path (str): Image list (PaddleClas format; labels ignored).
        out (str): Store directory.
        views (int): M, views per image.
        topk (int): K, probabilities kept per view (``<=`` classes).
        seed (int): View seed. Defaults to 0.
        data_prefix (str): Root of relative paths. Defaults to ''.
        samples_per_shard (int): List entries per store shard (the unit of
            resuming and sharding; memory is bounded by it). Defaults to 10000.
        batch_size (int): Images per teacher batch (``x views`` views).
        num_workers (int): DataLoader workers (decode + crops).
        device (str, optional): Defaults to cuda if available, else cpu.
        shard (tuple[int, int]): ``(i, n)``: process store shards ``s % n == i``.
        teacher_autocast (str, optional): ``'float16'`` / ``'bfloat16'``.
        channels_last (bool): Run the teacher channels-last.
        progress (bool): Show a progress bar (images/s).
        on_chunk_done (callable, optional): Called with each finished shard.
        log (callable): Progress messages.

    Returns:
        dict: ``complete`` (bool), ``index`` (dict, or None while other
        processes still have shards to run), ``shard_stats``.

    Example:
        >>> generate_soft_labels('configs/paddleclas/resnet50_vd.py',
        ...                      'r50vd_ssld.pth', 'configs/ssld/r50vd_mbv3.py',
        ...                      'data/train_list.txt', 'work_dirs/store',
        ...                      views=10, topk=10, data_prefix='data/')
    """
    from .select_topk import _checkpoint_fingerprint
    from .teacher import load_teacher_config

    for name, value, low in (('views', views, 1), ('topk', topk, 1), ('seed', seed, 0),
                             ('samples_per_shard', samples_per_shard,
                              1), ('batch_size', batch_size, 1)):
        if not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f'{name} must be an integer >= {low}, got {value!r}')
    run = rs.ShardRun.from_mapping(locals())
    if views > 32767:
        raise ValueError(f'views must fit int16, got {views}')
    check_autocast(teacher_autocast, 'teacher_autocast')
    if not osp.isfile(list_path):
        raise FileNotFoundError(f'image list {list_path!r} does not exist')
    tcfg = load_teacher_config(teacher_config)
    scfg = train_config if isinstance(train_config, Config) else \
        load_config_file(train_config, 'student train config')
    found = find_view_transforms(scfg)
    sampler = ViewSampler.from_config(scfg, seed)
    load_pipeline = found['load'] or [dict(type='mmpretrain.LoadImageFromFile')]

    num_samples = rs.count_entries(list_path)
    total = rs.num_chunks(num_samples, samples_per_shard) if num_samples else 0
    if total == 0:
        raise ValueError(f'image list {list_path!r} has no entries')
    manifest = {
        'tool': 'generate_soft_labels',
        'format_version': _FORMAT_VERSION,
        'list_sha1': rs.file_sha1(list_path),
        'num_samples': num_samples,
        'data_prefix': data_prefix,
        'teacher_config': teacher_config if isinstance(teacher_config, str) else None,
        'teacher_config_sha1':
        hashlib.sha1(tcfg.pretty_text.encode('utf-8')).hexdigest(),
        'teacher_checkpoint': checkpoint,
        'teacher_checkpoint_fingerprint': _checkpoint_fingerprint(checkpoint),
        'load_pipeline': load_pipeline,
        'view_sampler': sampler.describe(),
        'crop_size': list(sampler.crop_size),
        'num_views': int(views),
        'topk': int(topk),
        'seed': int(seed),
        'samples_per_shard': int(samples_per_shard),
        'batch_size': int(batch_size),
        'teacher_autocast': teacher_autocast,
        'channels_last': bool(channels_last),
    }
    # the manifest must not depend on where the files are: compare content
    check = {
        k: v
        for k, v in manifest.items()
        if k not in ('teacher_config', 'teacher_checkpoint')
    }
    rs.prepare_work_dir(out, dict(check, manifest='generate_soft_labels'))
    if osp.isfile(osp.join(out, INDEX_FILE)):
        log(f'{out} is complete ({INDEX_FILE} exists); nothing to do')
        with open(osp.join(out, INDEX_FILE), encoding='utf-8') as f:
            return {'complete': True, 'index': json.load(f), 'shard_stats': None}
    stats = run_generation_shard(tcfg, checkpoint, sampler, list_path, out, manifest,
                                 total, run)
    if run.others_running(
            total, done_shards(out, total),
            'store shards are still to run by other processes; '
            'the last one to finish writes index.json'):
        return {'complete': False, 'index': None, 'shard_stats': stats}
    index = finalize_store(out, list_path, manifest, total, data_prefix)
    log(f'wrote {out}: {num_samples} images x {views} views, top-{topk} of '
        f'{index["num_classes"]} classes, {index["num_skipped"]} skipped')
    return {'complete': True, 'index': index, 'shard_stats': stats}
