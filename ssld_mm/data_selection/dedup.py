"""Remove pool images that duplicate validation images (SIFT matching).

Pipeline (resumable, parallel):

1. Validation features: SIFT of every validation image, computed in chunks
   by a worker pool and cached under a key of the validation list's contents
   and the feature parameters, so other pools reuse them.
2. One FLANN index over all validation descriptors
   (:class:`~ssld_mm.data_selection.sift.SiftIndex`), built in the parent
   process; forked workers share it copy-on-write.
3. Pool images in chunks: each worker extracts an image's SIFT features and
   asks the index for the best verified validation match (also of the
   mirrored image). Each finished chunk is written atomically to the work
   directory; a restart skips finished chunks.
4. When all chunks exist: the kept list (pool order, PaddleClas format), the
   removed list (pool path, matched validation path, score, mirrored), a
   report of unreadable images and a summary, each written atomically.
"""
import hashlib
import json
import multiprocessing as mp
import os.path as osp
import time
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import cv2
import numpy as np

from ssld_mm.datasets.image_list import (format_entry, iter_image_list,
                                         resolve_image_path)
from . import resumable as rs
from .sift import DEFAULTS, SiftIndex, extract_sift, load_gray

_FORMAT_VERSION = 1
_TASK_SIZE = 16


@dataclass(frozen=True)
class SiftMatchParams(rs.FromMapping):
    """The feature and matching settings of a dedup run (see :func:`dedup_pool`).

    Defaults are :data:`ssld_mm.data_selection.sift.DEFAULTS`;
    ``SiftMatchParams.from_mapping(values)`` takes them from the same-named
    entries of a mapping (``tools/data/dedup_sift.py`` passes its flags).

    Example:
        >>> SiftMatchParams(min_inliers=20).to_dict()['min_inliers']
        20
    """
    max_side: int = DEFAULTS['max_side']
    max_keypoints: int = DEFAULTS['max_keypoints']
    ratio: float = DEFAULTS['ratio']
    min_inliers: int = DEFAULTS['min_inliers']
    candidates: int = DEFAULTS['candidates']
    ransac_thresh: float = DEFAULTS['ransac_thresh']
    flann_trees: int = DEFAULTS['flann_trees']
    flann_checks: int = DEFAULTS['flann_checks']
    check_flip: bool = DEFAULTS['check_flip']

    def __post_init__(self) -> None:
        for name, low in (('max_side', 16), ('max_keypoints', 3), ('min_inliers', 3),
                          ('candidates', 1), ('flann_trees', 1), ('flann_checks', 1)):
            _check_int(name, getattr(self, name), low)
        if not 0 < self.ratio < 1:
            raise ValueError(f'ratio must be in (0, 1), got {self.ratio!r}')
        if not self.ransac_thresh > 0:
            raise ValueError(f'ransac_thresh must be > 0, got {self.ransac_thresh!r}')

    def to_dict(self) -> Dict[str, Any]:
        """Plain JSON types (the manifest and the summary record them)."""
        return dict(
            max_side=int(self.max_side),
            max_keypoints=int(self.max_keypoints),
            ratio=float(self.ratio),
            min_inliers=int(self.min_inliers),
            candidates=int(self.candidates),
            ransac_thresh=float(self.ransac_thresh),
            flann_trees=int(self.flann_trees),
            flann_checks=int(self.flann_checks),
            check_flip=bool(self.check_flip))

    def match_kwargs(self) -> Dict[str, Any]:
        """The keyword arguments of :meth:`SiftIndex.match`."""
        return dict(
            ratio=self.ratio,
            min_inliers=self.min_inliers,
            candidates=self.candidates,
            ransac_thresh=self.ransac_thresh,
            check_flip=self.check_flip)


def _check_int(name: str, value, low: int) -> None:
    if not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f'{name} must be an integer >= {low}, got {value!r}')


@dataclass(frozen=True)
class _WorkerState:
    """What a task needs besides its images: the settings and, for pool
    tasks, the FLANN index over the validation descriptors."""
    params: SiftMatchParams
    index: Optional[SiftIndex] = None


# A worker process's state, set once by the pool initializer (fork: the index
# is inherited copy-on-write, never pickled).
_WORKER_STATE: Optional[_WorkerState] = None


def _init_worker(state: _WorkerState) -> None:
    global _WORKER_STATE
    _WORKER_STATE = state


def _features_or_error(path: str, max_side: int, max_keypoints: int):
    try:
        return extract_sift(load_gray(path, max_side), max_keypoints), None
    except Exception as e:  # noqa: BLE001 (any failure: report the image)
        return None, ' '.join(f'{type(e).__name__}: {e}'.split())


def _val_task(state: _WorkerState, task) -> Tuple[int, bool, list]:
    """``(chunk_id, is_last, [(idx, features or None, error or None), ...])``."""
    chunk_id, is_last, items = task
    p = state.params
    return chunk_id, is_last, [(idx,
                                *_features_or_error(path, p.max_side, p.max_keypoints))
                               for idx, path in items]


def _pool_task(state: _WorkerState, task) -> Tuple[int, bool, list]:
    """``(chunk_id, is_last, [(idx, best match or None, error or None,
    keypoints), ...])``: the features of :func:`_val_task`, matched."""
    chunk_id, is_last, features = _val_task(state, task)
    match = state.params.match_kwargs()
    out = []
    for idx, feats, err in features:
        if err is not None:
            out.append((idx, None, err, 0))
        else:
            out.append((idx, state.index.match(feats, **match), None, len(feats.desc)))
    return chunk_id, is_last, out


def _val_task_in_worker(task) -> Tuple[int, bool, list]:
    return _val_task(_WORKER_STATE, task)


def _pool_task_in_worker(task) -> Tuple[int, bool, list]:
    return _pool_task(_WORKER_STATE, task)


_IN_WORKER = {_val_task: _val_task_in_worker, _pool_task: _pool_task_in_worker}


def _tasks(list_file: str, prefix: str, chunk_size: int, num_entries: int,
           pending: List[int]) -> Iterator[Tuple[int, bool, list]]:
    """Stream ``(chunk_id, last_task_of_chunk, [(idx, path), ...])`` for the
    pending chunks without holding the list in memory."""
    wanted = set(pending)
    items: list = []
    for i, entry in enumerate(iter_image_list(list_file)):
        c = i // chunk_size
        if c not in wanted:
            continue
        items.append((i, resolve_image_path(entry.path, prefix)))
        chunk_end = min((c + 1) * chunk_size, num_entries)
        if len(items) == _TASK_SIZE or i == chunk_end - 1:
            yield c, i == chunk_end - 1, items
            items = []


def _run_tasks(fn: Callable, state: _WorkerState, tasks: Iterator,
               workers: int) -> Iterator:
    """``fn(state, task)`` for every task, in order: in this process, or in
    ``workers`` forked processes that get ``state`` from the pool
    initializer."""
    if workers <= 1:
        for t in tasks:
            yield fn(state, t)
        return
    # OpenCV is single-threaded in the parent (set by dedup_pool) before the
    # fork: the workers inherit that. Never call cv2.setNumThreads in a
    # forked child after the parent's OpenCV thread pool ran: it deadlocks.
    ctx = mp.get_context('fork')
    with ctx.Pool(workers, initializer=_init_worker, initargs=(state, )) as pool:
        yield from pool.imap(_IN_WORKER[fn], tasks, chunksize=1)


def min_useful_keypoints(min_inliers: int) -> int:
    """Fewest SIFT keypoints an image needs to be matched at all.

    A pool image is a duplicate when it has at least ``min_inliers`` RANSAC
    inliers with one validation image, each inlier a distinct keypoint on
    both sides (and never fewer than 3, the minimum of an affine fit), so an
    image (pool or validation) with fewer keypoints can never be flagged.
    """
    return max(int(min_inliers), 3)


def few_keypoints_message(summary: Dict[str, Any]) -> Optional[str]:
    """The warning about images too small or flat to be matched, or None.

    Args:
        summary (dict): A :func:`dedup_pool` summary (``pool_few_keypoints``,
            ``val_few_keypoints``, ``min_useful_keypoints``, ...).
    """
    pool_few = summary.get('pool_few_keypoints')
    val_few = summary.get('val_few_keypoints')
    if not pool_few and not val_few:
        return None
    need = summary['min_useful_keypoints']
    parts = []
    if pool_few:
        readable = summary['pool_images'] - summary['pool_unreadable']
        parts.append(f'{pool_few} of {readable} pool images')
    if val_few:
        readable = summary['val_images'] - summary['val_unreadable']
        parts.append(f'{val_few} of {readable} validation images')
    return (f'{" and ".join(parts)} have fewer than {need} SIFT keypoints '
            f'(--min-inliers {summary["params"]["min_inliers"]}): they can '
            'never be flagged as duplicates, not even exact copies. Small or '
            'flat images give few keypoints (median 3 on 28x28 Fashion-MNIST '
            'images, 13 on textured 32x32 scenes, 55 at 64x64); SIFT dedup is '
            'useful from about 64 px on the short side (or upscale small '
            'images first). See "Image size" in docs/data_selection.md.')


def val_cache_key(val_list: str, val_prefix: str, max_side: int,
                  max_keypoints: int) -> str:
    """Cache key of validation features: list contents + feature params."""
    h = hashlib.sha1()
    h.update(rs.file_sha1(val_list).encode())
    h.update(
        json.dumps([val_prefix,
                    int(max_side),
                    int(max_keypoints), _FORMAT_VERSION]).encode())
    return h.hexdigest()[:16]


def build_val_features(val_list: str,
                       cache_dir: str,
                       *,
                       val_prefix: str = '',
                       max_side: int = DEFAULTS['max_side'],
                       max_keypoints: int = DEFAULTS['max_keypoints'],
                       workers: int = 1,
                       chunk_size: int = 1000,
                       progress: bool = True,
                       load_features: bool = True,
                       log: Callable[[str], None] = print) -> Dict[str, Any]:
    """SIFT features of every validation image, cached and resumable.

    With ``load_features=False`` the cached chunks are only read for their
    failures (``desc``/``xy``/``image_ids`` come back empty).

    Returns:
        dict: ``desc`` ``(M, 128)``, ``xy`` ``(M, 2)``, ``image_ids``
        ``(M,)``, ``num_images``, ``num_descriptors``, ``failed`` (list of
        ``(idx, message)``), ``keypoint_counts`` (keypoints of each readable
        image, list order), ``cache_dir`` (the keyed folder used).
    """
    key = val_cache_key(val_list, val_prefix, max_side, max_keypoints)
    folder = osp.join(cache_dir, f'val_{key}')
    num = rs.count_entries(val_list)
    total = rs.num_chunks(num, chunk_size)
    rs.prepare_work_dir(
        folder, {
            'tool': 'dedup_sift.val_features',
            'format_version': _FORMAT_VERSION,
            'val_list_sha1': rs.file_sha1(val_list),
            'val_entries': num,
            'val_prefix': val_prefix,
            'max_side': int(max_side),
            'max_keypoints': int(max_keypoints),
            'chunk_size': int(chunk_size)
        })
    done = set(rs.done_chunks(folder, total, 'npz'))
    pending = [c for c in range(total) if c not in done]
    log(f'validation features: {num} images, {total - len(pending)} of '
        f'{total} chunks cached in {folder}')
    if pending:
        state = _WorkerState(
            SiftMatchParams(max_side=int(max_side), max_keypoints=int(max_keypoints)))
        n_pending = sum(
            min((c + 1) * chunk_size, num) - c * chunk_size for c in pending)
        bar = rs.progress_bar(n_pending, 'val features', progress)
        acc: List[tuple] = []
        for chunk_id, is_last, out in _run_tasks(
                _val_task, state, _tasks(val_list, val_prefix, chunk_size, num,
                                         pending), workers):
            acc.extend(out)
            if bar is not None:
                bar.update(len(out))
            if is_last:
                _save_val_chunk(folder, chunk_id, acc)
                acc = []
        if bar is not None:
            bar.close()
    descs, xys, ids, failed, num_desc, counts = [], [], [], [], 0, []
    for c in range(total):
        with np.load(rs.chunk_path(folder, c, 'npz'), allow_pickle=False) as z:
            num_desc += int(z['count'].sum())
            counts.append(z['count'])
            if load_features:
                descs.append(z['desc'])
                xys.append(z['xy'])
                ids.append(np.repeat(z['idx'], z['count']))
            failed.extend(zip(z['failed_idx'].tolist(), z['failed_msg'].tolist()))
    return dict(
        desc=np.concatenate(descs) if descs else np.zeros((0, 128), np.float32),
        xy=np.concatenate(xys) if xys else np.zeros((0, 2), np.float32),
        image_ids=np.concatenate(ids) if ids else np.zeros(0, np.int64),
        num_images=num,
        num_descriptors=num_desc,
        failed=failed,
        keypoint_counts=np.concatenate(counts) if counts else np.zeros(0, np.int64),
        cache_dir=folder)


def _save_val_chunk(folder: str, chunk_id: int, results: List[tuple]) -> None:
    ok = [(i, f) for i, f, e in results if e is None]
    bad = [(i, e) for i, f, e in results if e is not None]
    arrays = dict(
        idx=np.array([i for i, _ in ok], np.int64),
        count=np.array([len(f.desc) for _, f in ok], np.int64),
        desc=np.concatenate([f.desc for _, f in ok]) if ok else np.zeros(
            (0, 128), np.float32),
        xy=np.concatenate([f.xy for _, f in ok]) if ok else np.zeros(
            (0, 2), np.float32),
        failed_idx=np.array([i for i, _ in bad], np.int64),
        failed_msg=np.array([e for _, e in bad], dtype=str))
    with rs.atomic_open(rs.chunk_path(folder, chunk_id, 'npz'), 'wb') as f:
        np.savez(f, **arrays)


def dedup_pool(pool_list: str,
               val_list: str,
               out: str,
               removed: str,
               *,
               data_prefix: str = '',
               val_prefix: Optional[str] = None,
               work_dir: Optional[str] = None,
               val_cache: Optional[str] = None,
               workers: int = 1,
               chunk_size: int = 1000,
               match: Optional[SiftMatchParams] = None,
               drop_unreadable: bool = False,
               progress: bool = True,
               unreadable_report: Optional[str] = None,
               summary_file: Optional[str] = None,
               on_chunk_done: Optional[Callable[[int], None]] = None,
               log: Callable[[str], None] = print) -> Dict[str, Any]:
    """Split a pool list into images kept and validation near-duplicates.

    Args:
        pool_list (str): Pool list (PaddleClas format; labels are kept).
        val_list (str): Validation list.
        out (str): Kept pool entries, in pool order.
        removed (str): Removed entries, ``pool_path<TAB>val_path<TAB>inliers
            <TAB>mirrored`` after a ``#`` header line.
        data_prefix (str): Root of relative pool paths.
        val_prefix (str, optional): Root of relative validation paths.
            Defaults to ``data_prefix``.
        work_dir (str, optional): Chunk results. Defaults to ``<out>.work``.
        val_cache (str, optional): Folder of cached validation features
            (keyed by the list's contents). Defaults to the work dir.
        workers (int): Worker processes. Defaults to 1 (in-process).
        chunk_size (int): Pool entries per chunk. Defaults to 1000.
        match (SiftMatchParams, optional): The feature and matching settings
            (downscaling, keypoints, Lowe's ratio, the ``min_inliers``
            decision threshold, FLANN, flipped copies). Defaults to
            ``SiftMatchParams()``, i.e. :data:`~ssld_mm.data_selection.sift.DEFAULTS`.
        drop_unreadable (bool): Leave unreadable pool images out of the kept
            list (default: keep them; they are always reported).
        progress (bool): Show progress bars.
        unreadable_report (str, optional): Defaults to
            ``<out>.unreadable.txt``.
        summary_file (str, optional): Defaults to ``<out>.summary.json``.
        on_chunk_done (callable, optional): Called with each finished chunk id.
        log (callable): Progress messages.

    Returns:
        dict: The summary. ``pool_few_keypoints`` / ``val_few_keypoints``
        count readable images with fewer than ``min_useful_keypoints``
        (``max(min_inliers, 3)``) SIFT keypoints: such images can never be
        flagged (small or flat images, e.g. 32x32 px); a :class:`UserWarning`
        says so when any exist.

    Example:
        >>> dedup_pool('pool.txt', 'val.txt', 'pool_kept.txt',
        ...            'pool_removed.txt', data_prefix='data/', workers=16,
        ...            match=SiftMatchParams(min_inliers=20))
    """
    _check_int('workers', workers, 0)
    _check_int('chunk_size', chunk_size, 1)
    params = SiftMatchParams() if match is None else match
    if not isinstance(params, SiftMatchParams):
        raise TypeError(f'match must be a SiftMatchParams, got {type(params).__name__}')
    for name, path in (('pool', pool_list), ('val', val_list)):
        if not osp.isfile(path):
            raise FileNotFoundError(f'{name} list {path!r} does not exist')
    work_dir = work_dir or rs.default_work_dir(out)
    job = _DedupJob(
        pool_list=pool_list,
        val_list=val_list,
        work_dir=work_dir,
        val_cache=val_cache or work_dir,
        data_prefix=data_prefix,
        val_prefix=data_prefix if val_prefix is None else val_prefix,
        chunk_size=chunk_size,
        workers=workers,
        progress=progress,
        params=params,
        log=log)
    pending = _prepare_pool_work_dir(job)
    if pending:
        val = _match_pending_chunks(job, pending, on_chunk_done)
    else:  # everything was done: only the validation failures are needed
        val = build_val_features(
            val_list,
            job.val_cache,
            val_prefix=job.val_prefix,
            max_side=params.max_side,
            max_keypoints=params.max_keypoints,
            workers=1,
            progress=False,
            load_features=False,
            log=lambda s: None)
    need = min_useful_keypoints(params.min_inliers)
    summary = _merge_dedup(
        pool_list,
        val_list,
        work_dir,
        job.total,
        out,
        removed,
        data_prefix=data_prefix,
        val_prefix=job.val_prefix,
        val_failed=val['failed'],
        val_descriptors=val['num_descriptors'],
        val_few_keypoints=int((val['keypoint_counts'] < need).sum()),
        drop_unreadable=drop_unreadable,
        params=params.to_dict(),
        unreadable_report=unreadable_report or out + '.unreadable.txt',
        summary_file=summary_file or out + '.summary.json')
    message = few_keypoints_message(summary)
    if message is not None:
        warnings.warn(message, UserWarning, stacklevel=2)
    return summary


@dataclass
class _DedupJob:
    """The inputs of one :func:`dedup_pool` run, shared by its steps."""
    pool_list: str
    val_list: str
    work_dir: str
    val_cache: str
    data_prefix: str
    val_prefix: str
    chunk_size: int
    workers: int
    progress: bool
    params: SiftMatchParams
    log: Callable[[str], None]
    num: int = 0
    total: int = 0


def _prepare_pool_work_dir(job: _DedupJob) -> List[int]:
    """Create or check the work dir; return the pool chunks still to do."""
    job.num = rs.count_entries(job.pool_list)
    job.total = rs.num_chunks(job.num, job.chunk_size)
    rs.prepare_work_dir(
        job.work_dir, {
            'tool': 'dedup_sift',
            'format_version': _FORMAT_VERSION,
            'pool_list_sha1': rs.file_sha1(job.pool_list),
            'pool_entries': job.num,
            'val_list_sha1': rs.file_sha1(job.val_list),
            'data_prefix': job.data_prefix,
            'val_prefix': job.val_prefix,
            'chunk_size': int(job.chunk_size),
            **job.params.to_dict()
        })
    done = set(rs.done_chunks(job.work_dir, job.total, 'json'))
    pending = [c for c in range(job.total) if c not in done]
    job.log(f'pool: {job.num} images, {job.total - len(pending)} of '
            f'{job.total} chunks already done')
    return pending


def _match_pending_chunks(
        job: _DedupJob, pending: List[int],
        on_chunk_done: Optional[Callable[[int], None]]) -> Dict[str, Any]:
    """Validation features, the FLANN index, then every pending pool chunk
    matched against it; returns the validation features."""
    p = job.params
    old_threads = cv2.getNumThreads()
    if job.workers > 1:
        cv2.setNumThreads(0)  # no OpenCV thread pool across fork()
    try:
        val = build_val_features(
            job.val_list,
            job.val_cache,
            val_prefix=job.val_prefix,
            max_side=p.max_side,
            max_keypoints=p.max_keypoints,
            workers=job.workers,
            progress=job.progress,
            log=job.log)
        t0 = time.time()
        index = SiftIndex(
            val['desc'],
            val['xy'],
            val['image_ids'],
            trees=p.flann_trees,
            checks=p.flann_checks)
        job.log(f'FLANN index over {len(index)} descriptors of '
                f'{val["num_images"]} validation images built in '
                f'{time.time() - t0:.1f}s')
        _run_pool_chunks(job, _WorkerState(p, index), pending, on_chunk_done)
    finally:
        cv2.setNumThreads(old_threads)
    return val


def _run_pool_chunks(job: _DedupJob, state: _WorkerState, pending: List[int],
                     on_chunk_done: Optional[Callable[[int], None]]) -> None:
    chunk_size, num = job.chunk_size, job.num
    n_pending = sum(min((c + 1) * chunk_size, num) - c * chunk_size for c in pending)
    bar = rs.progress_bar(n_pending, 'dedup pool', job.progress)
    removed_acc: list = []
    failed_acc: list = []
    count = few = 0
    min_inliers = state.params.min_inliers
    need = min_useful_keypoints(min_inliers)
    for chunk_id, is_last, out in _run_tasks(
            _pool_task, state,
            _tasks(job.pool_list, job.data_prefix, chunk_size, num, pending),
            job.workers):
        for idx, m, err, num_kp in out:
            count += 1
            if err is not None:
                failed_acc.append([idx, err])
                continue
            few += num_kp < need
            if m.inliers >= min_inliers:
                removed_acc.append(
                    [idx, m.val_id, m.inliers,
                     bool(m.mirrored), m.good_matches])
        if bar is not None:
            bar.update(len(out))
        if is_last:
            rs.write_json_atomic(
                rs.chunk_path(job.work_dir, chunk_id, 'json'), {
                    'chunk': chunk_id,
                    'images': count,
                    'few_keypoints': few,
                    'removed': removed_acc,
                    'unreadable': failed_acc
                })
            removed_acc, failed_acc, count, few = [], [], 0, 0
            if on_chunk_done is not None:
                on_chunk_done(chunk_id)
    if bar is not None:
        bar.close()


def _merge_dedup(pool_list, val_list, work_dir, total, out, removed, *, data_prefix,
                 val_prefix, val_failed, val_descriptors, val_few_keypoints,
                 drop_unreadable, params, unreadable_report,
                 summary_file) -> Dict[str, Any]:
    removed_of: Dict[int, list] = {}
    unreadable_of: Dict[int, str] = {}
    pool_few = 0
    for c in range(total):
        with open(rs.chunk_path(work_dir, c, 'json'), encoding='utf-8') as f:
            part = json.load(f)
        # chunks written before the count existed: unknown, count as 0
        pool_few += int(part.get('few_keypoints', 0))
        for r in part['removed']:
            removed_of[int(r[0])] = r
        for i, msg in part['unreadable']:
            unreadable_of[int(i)] = msg
    val_failed = dict(val_failed)
    need_val = {r[1] for r in removed_of.values()} | set(val_failed)
    val_paths: Dict[int, str] = {}
    val_seen = 0
    for i, entry in enumerate(iter_image_list(val_list)):
        val_seen += 1
        if i in need_val:
            val_paths[i] = entry.path
    kept_lines, removed_lines, report = [], [
        '# pool_path\tmatched_val_path\tinliers\tmirrored'
    ], []
    pool_seen = 0
    for i, entry in enumerate(iter_image_list(pool_list)):
        pool_seen += 1
        r = removed_of.get(i)
        if r is not None:
            removed_lines.append(f'{entry.path}\t{val_paths[r[1]]}\t{r[2]}\t'
                                 f'{"flip" if r[3] else "same"}')
            continue
        if i in unreadable_of:
            report.append(f'pool\t{resolve_image_path(entry.path, data_prefix)}'
                          f'\t{unreadable_of[i]}')
            if drop_unreadable:
                continue
        kept_lines.append(format_entry(entry.path, entry.label))
    for i, msg in sorted(val_failed.items()):
        report.append(f'val\t{resolve_image_path(val_paths[i], val_prefix)}'
                      f'\t{msg}')
    summary = {
        'pool_images': pool_seen,
        'kept': len(kept_lines),
        'removed': len(removed_of),
        'removed_mirrored': sum(1 for r in removed_of.values() if r[3]),
        'pool_unreadable': len(unreadable_of),
        'val_images': val_seen,
        'val_unreadable': len(val_failed),
        'val_descriptors': val_descriptors,
        'min_useful_keypoints': min_useful_keypoints(params['min_inliers']),
        'pool_few_keypoints': pool_few,
        'val_few_keypoints': val_few_keypoints,
        'params': params,
        'out': out,
        'removed_list': removed,
    }
    rs.write_lines_atomic(unreadable_report, report)
    rs.write_json_atomic(summary_file, summary)
    rs.write_lines_atomic(removed, removed_lines)
    rs.write_lines_atomic(out, kept_lines)
    return summary


def format_dedup_summary(summary: Dict[str, Any]) -> str:
    """Human-readable summary lines (a ``WARNING:`` line when images have
    too few keypoints to be matched, see :func:`few_keypoints_message`)."""
    message = few_keypoints_message(summary)
    return '\n'.join([
        f"pool images: {summary['pool_images']}, kept: {summary['kept']}, "
        f"removed as validation duplicates: {summary['removed']} "
        f"({summary['removed_mirrored']} mirrored), unreadable: "
        f"{summary['pool_unreadable']}",
        f"validation images: {summary['val_images']} "
        f"({summary['val_unreadable']} unreadable), descriptors: "
        f"{summary['val_descriptors']}",
        f"decision: >= {summary['params']['min_inliers']} RANSAC inliers",
        f"wrote {summary['out']} and {summary['removed_list']}",
    ] + ([f'WARNING: {message}'] if message else []))
