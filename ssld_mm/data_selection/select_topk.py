"""Teacher top-k per class over a large unlabeled pool (SSLD's data step).

The teacher predicts every pool image; each image votes only for its argmax
class, with the softmax probability of that class as its score (PaddleClas /
SSLD practice); per class the ``k`` highest-scoring images are kept, ties
broken by pool line order. The pool is processed in chunks of consecutive
entries; each finished chunk's candidates (already cut to top-k per class) are
written atomically to the work directory, so a killed run resumes without
redoing finished chunks, shards of one run (``shard=(i, n)`` or a distributed
launcher) share the work directory, and whichever process finds every chunk
done merges them into the final, identical outputs.
"""
import json
import os
import os.path as osp
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

import numpy as np
from mmengine.config import Config

from ssld_mm.datasets.image_list import (format_entry, iter_image_list,
                                         resolve_image_path)
from . import resumable as rs
from .topk import ClassTopK, topk_order

CHUNK_EXT = 'npz'
_FORMAT_VERSION = 1


def _checkpoint_fingerprint(path: str, block: int = 1 << 20) -> str:
    """Size + SHA-1 of the first and last MiB (fast for multi-GB files)."""
    import hashlib
    if not osp.isfile(path):
        raise FileNotFoundError(f'teacher checkpoint {path!r} does not exist')
    size = osp.getsize(path)
    h = hashlib.sha1(str(size).encode())
    with open(path, 'rb') as f:
        h.update(f.read(block))
        if size > block:
            f.seek(max(block, size - block))
            h.update(f.read(block))
    return f'{size}:{h.hexdigest()}'


def check_list_root(list_file: str,
                    prefix: str,
                    num: int = 20) -> Tuple[int, List[str]]:
    """Check that the first ``num`` paths of a list exist under ``prefix``.

    Args:
        list_file (str): A PaddleClas list.
        prefix (str): Root of its relative paths ('' = the current folder).
        num (int): Entries checked (the head of the list). Defaults to 20.

    Returns:
        tuple[int, list[str]]: Entries checked, resolved paths missing.
    """
    checked, missing = 0, []
    for entry in iter_image_list(list_file):
        if checked == num:
            break
        checked += 1
        path = resolve_image_path(entry.path, prefix)
        if not osp.exists(path):
            missing.append(path)
    return checked, missing


def root_warning(list_file: str, option: str, prefix: str, checked: int,
                 missing: List[str]) -> Optional[str]:
    """A one-line warning when checked paths of a list are missing, or None.

    Args:
        list_file (str): The list checked.
        option (str): The command-line option that sets its root, e.g.
            ``'--labeled-prefix'``.
        prefix (str): That root.
        checked (int): Entries checked.
        missing (list[str]): Resolved paths missing.
    """
    if not missing:
        return None
    return (f'{len(missing)} of the first {checked} paths of {list_file!r} do '
            f'not exist under {option} {prefix!r} (e.g. {missing[0]!r}); set '
            f'{option} to the folder its relative paths start from')


def rebase_path(path: str, from_prefix: str, to_prefix: str) -> str:
    """Rewrite a list path relative to ``from_prefix`` for ``to_prefix``.

    Absolute paths and equal roots are returned unchanged. Otherwise the
    result is relative to ``to_prefix`` when the file lies below it, else
    absolute (so it resolves whatever the working directory).

    Example:
        >>> rebase_path('a/1.jpg', 'data/train', 'data')
        'train/a/1.jpg'
    """
    if osp.isabs(path) or osp.abspath(from_prefix or '.') == osp.abspath(to_prefix
                                                                         or '.'):
        return path
    full = osp.abspath(osp.join(from_prefix, path))
    rel = osp.relpath(full, osp.abspath(to_prefix or '.'))
    return full if rel.split(os.sep)[0] == os.pardir else rel


def shard_from_launcher(launcher: str) -> Tuple[Tuple[int, int], int]:
    """``((rank, world_size), local_rank)`` from a launcher's environment.

    Args:
        launcher (str): ``'none'``, ``'pytorch'`` (torchrun / dist launch:
            ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``) or ``'slurm'``
            (``SLURM_PROCID``, ``SLURM_NTASKS``, ``SLURM_LOCALID``).
    """
    env = os.environ
    if launcher == 'none':
        return (0, 1), 0
    if launcher == 'pytorch':
        keys = ('RANK', 'WORLD_SIZE', 'LOCAL_RANK')
    elif launcher == 'slurm':
        keys = ('SLURM_PROCID', 'SLURM_NTASKS', 'SLURM_LOCALID')
    else:
        raise ValueError(f"launcher must be 'none', 'pytorch' or 'slurm', "
                         f'got {launcher!r}')
    missing = [k for k in keys if k not in env]
    if missing:
        raise RuntimeError(f'--launcher {launcher} needs the environment '
                           f'variables {missing}')
    return (int(env[keys[0]]), int(env[keys[1]])), int(env[keys[2]])


def shard_and_device(shard: Optional[str], launcher: str,
                     device: Optional[str]) -> Tuple[Tuple[int, int], Optional[str]]:
    """The ``(rank, world_size)`` shard and device of a sharded data tool.

    Args:
        shard (str, optional): ``--shard i/n``; exclusive with a launcher.
        launcher (str): ``--launcher`` (see :func:`shard_from_launcher`).
        device (str, optional): ``--device``; under a launcher it defaults to
            ``cuda:<local_rank>`` when CUDA is available.

    Example:
        >>> shard_and_device('1/4', 'none', None)
        ((1, 4), None)
    """
    if shard is not None and launcher != 'none':
        raise SystemExit('use either --shard or --launcher, not both')
    if launcher == 'none':
        return (rs.parse_shard(shard) if shard else (0, 1)), device
    where, local_rank = shard_from_launcher(launcher)
    if device is None:
        import torch
        if torch.cuda.is_available():
            device = f'cuda:{local_rank}'
    return where, device


def _save_chunk(work_dir: str, chunk_id: int, arrays: Dict[str, np.ndarray]) -> None:
    with rs.atomic_open(rs.chunk_path(work_dir, chunk_id, CHUNK_EXT), 'wb') as f:
        np.savez(f, **arrays)


def _load_chunk(work_dir: str, chunk_id: int) -> Dict[str, np.ndarray]:
    with np.load(rs.chunk_path(work_dir, chunk_id, CHUNK_EXT), allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _chunk_result(idx: List[np.ndarray], cls: List[np.ndarray], score: List[np.ndarray],
                  top_cls: List[np.ndarray], top_prob: List[np.ndarray],
                  failed: List[Tuple[int, str]], k: int, num_classes: int,
                  soft_topn: int) -> Dict[str, np.ndarray]:
    """One chunk's candidates cut to top-k per class, plus its failures."""
    if idx:
        idx_a, cls_a = np.concatenate(idx), np.concatenate(cls)
        score_a = np.concatenate(score)
        tc, tp = np.concatenate(top_cls), np.concatenate(top_prob)
    else:
        idx_a, cls_a = np.zeros(0, np.int64), np.zeros(0, np.int64)
        score_a = np.zeros(0, np.float32)
        tc = np.zeros((0, soft_topn), np.int64)
        tp = np.zeros((0, soft_topn), np.float32)
    keep = topk_order(idx_a, cls_a, score_a, k)
    failed = sorted(failed)
    return dict(
        idx=idx_a[keep],
        cls=cls_a[keep],
        score=score_a[keep],
        top_cls=tc[keep],
        top_prob=tp[keep],
        num_scored=np.array(len(idx_a), np.int64),
        num_classes=np.array(num_classes, np.int64),
        failed_idx=np.array([f[0] for f in failed], np.int64),
        failed_msg=np.array([f[1] for f in failed], dtype=str))


def run_selection_shard(config: Union[str, Config], checkpoint: str, pool_list: str,
                        work_dir: str, manifest: Dict[str, Any], total_chunks: int,
                        run: rs.ShardRun) -> Dict[str, Any]:
    """Run the teacher over this shard's unfinished chunks.

    Args:
        config (str | Config): Teacher config.
        checkpoint (str): Teacher checkpoint.
        pool_list (str): Pool image list.
        work_dir (str): Chunk results.
        manifest (dict): The run's settings as the work dir records them
            (``k``, ``chunk_size``, ``batch_size``, ``soft_topn``,
            ``data_prefix``, ``fp16``): the shard runs exactly what it
            records.
        total_chunks (int): Chunks of the whole pool.
        run (ShardRun): This process's shard and how to run it.

    Returns:
        dict: ``chunks_skipped`` (already done), ``chunks_run``, ``images``
        and ``seconds`` of this call.
    """
    from .teacher import (PoolDataset, batch_plan, build_pipeline, build_teacher,
                          chunk_loader, collate_pool, load_teacher_config,
                          pending_entries, resolve_device, run_chunk_batches)

    m = manifest
    pending, stats = run.pending(total_chunks,
                                 rs.done_chunks(work_dir, total_chunks, CHUNK_EXT),
                                 'chunks')
    if not pending:
        return stats
    indices, paths = pending_entries(pool_list, m['data_prefix'], m['chunk_size'],
                                     pending)
    cfg = load_teacher_config(config)
    device, is_cuda = resolve_device(run.device)
    model = build_teacher(cfg, checkpoint, device)
    plan = batch_plan(indices, m['chunk_size'], m['batch_size'])
    loader = chunk_loader(
        PoolDataset(indices, paths, build_pipeline(cfg)), plan, collate_pool,
        run.num_workers, is_cuda)
    chunks = _ChunkCollector(work_dir, m['k'], m['soft_topn'])

    def compute(batch):
        res, chunks.num_classes = _teacher_topk(model, batch, device, m['fp16'],
                                                m['soft_topn'])
        return res

    run_chunk_batches(run, plan, loader, compute, chunks, stats, 'select shard')
    rate = stats['images'] / max(stats['seconds'], 1e-9)
    run.log(f'shard {run.name}: {stats["images"]} images in '
            f'{stats["seconds"]:.1f}s ({rate:.1f} img/s)')
    return stats


def _teacher_topk(model, batch: dict, device, fp16: bool, soft_topn: int):
    """``((idx, top-1 prob, top-1 class, top probs, top classes), classes)``
    of one batch, on the device; fewer classes than ``soft_topn`` are padded
    (probability 0, class -1)."""
    import torch

    from .teacher import teacher_probs
    inputs = batch['inputs']
    if isinstance(inputs, torch.Tensor):
        inputs = inputs.to(device, non_blocking=True)
    else:
        inputs = [x.to(device, non_blocking=True) for x in inputs]
    probs = teacher_probs(model, inputs, fp16=fp16)
    n_top = min(soft_topn, probs.shape[1])
    tp, tc = probs.topk(n_top, dim=1)
    if n_top < soft_topn:  # fewer classes than soft_topn: pad
        pad = soft_topn - n_top
        tp = torch.nn.functional.pad(tp, (0, pad), value=0.0)
        tc = torch.nn.functional.pad(tc, (0, pad), value=-1)
    # argmax class and its probability == top-1 of topk
    res = (batch['idx'], tp[:, 0].contiguous(), tc[:, 0].contiguous(), tp, tc)
    return res, probs.shape[1]


class _ChunkCollector:
    """Collects the batches of a chunk and writes the chunk's top-k result at
    its last batch (the ``chunks`` of
    :func:`~ssld_mm.data_selection.teacher.run_chunk_batches`).

    Args:
        work_dir (str): Where chunk files go.
        k (int): Images kept per class.
        soft_topn (int): Soft-label classes kept per image.
    """

    def __init__(self, work_dir: str, k: int, soft_topn: int) -> None:
        self.work_dir, self.k, self.soft_topn = work_dir, k, soft_topn
        self.num_classes = 0
        self._acc: Dict[str, list] = {
            f: []
            for f in ('idx', 'cls', 'score', 'tc', 'tp')
        }
        self._failed: List[Tuple[int, str]] = []

    def add(self, res, batch: Dict[str, Any]) -> None:
        """Take one batch's results (copied to the host here)."""
        self._failed.extend(batch['failed'])
        if res is not None:
            idx_t, score_t, cls_t, tp_t, tc_t = (t.cpu() for t in res)
            self._acc['idx'].append(idx_t.numpy())
            self._acc['score'].append(score_t.numpy())
            self._acc['cls'].append(cls_t.numpy().astype(np.int64))
            self._acc['tp'].append(tp_t.numpy())
            self._acc['tc'].append(tc_t.numpy().astype(np.int64))

    def write(self, chunk_id: int) -> None:
        """Save the chunk's top-k candidates and failures; start the next."""
        acc = self._acc
        _save_chunk(
            self.work_dir, chunk_id,
            _chunk_result(acc['idx'], acc['cls'], acc['score'], acc['tc'], acc['tp'],
                          self._failed, self.k, self.num_classes, self.soft_topn))
        for v in acc.values():
            v.clear()
        self._failed.clear()


def _gather_chunks(work_dir: str, total_chunks: int, k: int):
    """``(top-k selection, {pool index: error}, images scored, classes)``
    over every chunk file."""
    topk = ClassTopK(k)
    failed_idx, failed_msg = [], []
    images_scored, num_classes = 0, 0
    for c in range(total_chunks):
        part = _load_chunk(work_dir, c)
        topk.add(
            part['idx'],
            part['cls'],
            part['score'],
            top_cls=part['top_cls'],
            top_prob=part['top_prob'])
        failed_idx.extend(part['failed_idx'].tolist())
        failed_msg.extend(part['failed_msg'].tolist())
        images_scored += int(part['num_scored'])
        num_classes = max(num_classes, int(part['num_classes']))
    fail_of = {int(i): m for i, m in zip(failed_idx, failed_msg)}
    return topk.result(), fail_of, images_scored, num_classes


def _pool_paths(pool_list: str, selected_idx: np.ndarray, fail_of: Dict[int, str],
                data_prefix: str):
    """One pass over the pool: ``(paths of the selected images in selection
    order, skipped-report lines, images seen)``."""
    pos_of = {int(i): p for p, i in enumerate(selected_idx.tolist())}
    sel_paths: List[Optional[str]] = [None] * len(pos_of)
    skipped_lines = []
    images_seen = 0
    for i, entry in enumerate(iter_image_list(pool_list)):
        images_seen += 1
        p = pos_of.get(i)
        if p is not None:
            sel_paths[p] = entry.path
        if i in fail_of:
            skipped_lines.append(f'{resolve_image_path(entry.path, data_prefix)}\t'
                                 f'{" ".join(fail_of[i].split())}')
    return sel_paths, skipped_lines, images_seen


def _labeled_entries(labeled: Optional[str], labeled_prefix: str, data_prefix: str):
    """``(lines, normalised paths, number rewritten)`` of the labeled list,
    its paths rebased from ``labeled_prefix`` onto ``data_prefix``."""
    lines: List[str] = []
    paths = set()
    rewritten = 0
    if labeled is not None:
        for entry in iter_image_list(labeled, allow_unlabeled=False):
            path = rebase_path(entry.path, labeled_prefix, data_prefix)
            rewritten += path != entry.path
            lines.append(format_entry(path, entry.label))
            paths.add(osp.normpath(path))
    return lines, paths, rewritten


def _selected_entries(sel: Dict[str, np.ndarray], sel_paths: List[str],
                      labeled_paths: set, pseudo_labels: bool, with_soft_labels: bool):
    """``(selection lines, soft-label JSON lines, selected images that are
    already labeled)``; those are left out."""
    selected_lines, soft_lines, dup_labeled = [], [], 0
    for p, path in enumerate(sel_paths):
        if osp.normpath(path) in labeled_paths:
            dup_labeled += 1
            continue
        cls = int(sel['cls'][p])
        selected_lines.append(format_entry(path, cls if pseudo_labels else None))
        if with_soft_labels:
            tc, tp = sel['top_cls'][p], sel['top_prob'][p]
            valid = tc >= 0
            soft_lines.append(
                json.dumps({
                    'path': path,
                    'label': cls,
                    'score': round(float(sel['score'][p]), 6),
                    'topk_classes': tc[valid].tolist(),
                    'topk_probs': [round(float(x), 6) for x in tp[valid]]
                }))
    return selected_lines, soft_lines, dup_labeled


@dataclass
class SelectionOutputs(rs.FromMapping):
    """What a selection writes and how its paths are rooted (the merge step's
    options; :func:`select_topk` documents each of them).

    Args:
        out (str): The selection list (written last).
        data_prefix (str): Root of the relative paths of ``out``.
        labeled (str, optional): Labeled list put first.
        labeled_prefix (str, optional): Root of ``labeled``'s paths.
            Defaults to ``data_prefix``.
        soft_labels (str, optional): Soft-label file (JSON lines).
        pseudo_labels (bool): Write the teacher's class after each path.
        skipped_report (str, optional): Defaults to ``<out>.skipped.txt``.
        summary_file (str, optional): Defaults to ``<out>.summary.json``.

    Example:
        >>> SelectionOutputs('selected.txt').summary_file
        'selected.txt.summary.json'
    """
    out: str
    data_prefix: str = ''
    labeled: Optional[str] = None
    labeled_prefix: Optional[str] = None
    soft_labels: Optional[str] = None
    pseudo_labels: bool = False
    skipped_report: Optional[str] = None
    summary_file: Optional[str] = None

    def __post_init__(self) -> None:
        if self.labeled_prefix is None:
            self.labeled_prefix = self.data_prefix
        self.skipped_report = self.skipped_report or self.out + '.skipped.txt'
        self.summary_file = self.summary_file or self.out + '.summary.json'


def merge_selection(pool_list: str, work_dir: str, outputs: SelectionOutputs, *, k: int,
                    total_chunks: int) -> Dict[str, Any]:
    """Merge all chunk results into the final outputs (atomic writes).

    Outputs, in this order (``out`` last, so its presence means complete):
    the soft-label file (JSON lines), the skipped-images report
    (``path<TAB>error``), the summary JSON, the selection list. Every
    relative path of ``out`` is relative to ``data_prefix``: labeled paths
    relative to another ``labeled_prefix`` are rewritten
    (:func:`rebase_path`) and counted in the summary
    (``labeled_paths_rewritten``).

    Args:
        pool_list (str): Pool image list.
        work_dir (str): Chunk results (all chunks done).
        outputs (SelectionOutputs): What to write.
        k (int): Images kept per class.
        total_chunks (int): Chunks of the pool.

    Returns:
        dict: The summary.
    """
    o = outputs
    labeled, labeled_prefix, data_prefix = o.labeled, o.labeled_prefix, o.data_prefix
    manifest = rs.read_manifest(work_dir) or {}
    soft_topn = int(manifest.get('soft_topn', 0))
    sel, fail_of, images_scored, num_classes = _gather_chunks(work_dir, total_chunks, k)
    sel_paths, skipped_lines, images_seen = _pool_paths(pool_list, sel['idx'], fail_of,
                                                        data_prefix)
    labeled_lines, labeled_paths, rewritten = _labeled_entries(
        labeled, labeled_prefix, data_prefix)
    selected_lines, soft_lines, dup_labeled = _selected_entries(
        sel, sel_paths, labeled_paths, o.pseudo_labels, o.soft_labels is not None)

    counts = np.bincount(sel['cls'], minlength=num_classes) \
        if len(sel['cls']) else np.zeros(num_classes, np.int64)
    summary = {
        'images_seen': images_seen,
        'images_scored': images_scored,
        'images_skipped': len(skipped_lines),
        'k': k,
        'num_classes': num_classes,
        'selected': int(len(sel['idx'])),
        'per_class_counts': counts.tolist(),
        'classes_below_k': [c for c in range(num_classes) if counts[c] < k],
        'labeled_entries': len(labeled_lines),
        'labeled_list': labeled,
        'labeled_prefix': labeled_prefix if labeled is not None else None,
        'labeled_paths_rewritten': rewritten,
        'selected_already_labeled': dup_labeled,
        'written_entries': len(labeled_lines) + len(selected_lines),
        'pseudo_labels': bool(o.pseudo_labels),
        'soft_topn': min(soft_topn, num_classes) if o.soft_labels is not None else None,
        'data_prefix': data_prefix,
        'out': o.out,
    }
    if labeled is not None:
        checked, missing = check_list_root(labeled, labeled_prefix)
        summary['labeled_root_warning'] = root_warning(labeled, '--labeled-prefix',
                                                       labeled_prefix, checked, missing)
    if o.soft_labels is not None:
        rs.write_lines_atomic(o.soft_labels, soft_lines)
    rs.write_lines_atomic(o.skipped_report, skipped_lines)
    rs.write_json_atomic(o.summary_file, summary)
    rs.write_lines_atomic(o.out, labeled_lines + selected_lines)
    return summary


def select_topk(config: Union[str, Config],
                checkpoint: str,
                pool_list: str,
                k: int,
                out: str,
                *,
                labeled: Optional[str] = None,
                soft_labels: Optional[str] = None,
                soft_topn: int = 5,
                data_prefix: str = '',
                work_dir: Optional[str] = None,
                chunk_size: int = 10000,
                batch_size: int = 64,
                num_workers: int = 4,
                device: Optional[str] = None,
                shard: Tuple[int, int] = (0, 1),
                fp16: bool = False,
                progress: bool = True,
                skipped_report: Optional[str] = None,
                summary_file: Optional[str] = None,
                pseudo_labels: bool = False,
                labeled_prefix: Optional[str] = None,
                on_chunk_done: Optional[Callable[[int], None]] = None,
                log: Callable[[str], None] = print) -> Dict[str, Any]:
    """Select the teacher's top-k pool images per class (resumable, sharded).

    Args:
        config (str | Config): Teacher config (any MMPretrain classifier).
        checkpoint (str): Teacher checkpoint.
        pool_list (str): Pool image list (PaddleClas format; labels ignored).
        k (int): Images kept per class.
        out (str): Output list: the labeled entries first (when ``labeled``
            is given), then the selected pool images, per class by rank, as
            unlabeled lines ``path`` (or ``path teacher_label`` with
            ``pseudo_labels``).
        labeled (str, optional): Labeled training list to merge with.
            Selected images whose path equals a labeled path are dropped.
            Its relative paths start from ``labeled_prefix``.
        soft_labels (str, optional): Also write the top-``soft_topn``
            probabilities of each selected image here (JSON lines).
        soft_topn (int): Probabilities kept per candidate. Defaults to 5.
        data_prefix (str): Root of relative pool paths. Defaults to ''.
        work_dir (str, optional): Chunk results and manifest. Defaults to
            ``<out>.work``.
        chunk_size (int): Pool entries per chunk (the unit of resuming and
            sharding). Defaults to 10000.
        batch_size (int): Teacher batch size. Defaults to 64.
        num_workers (int): DataLoader workers (decode + test pipeline).
        device (str, optional): Defaults to ``cuda`` if available, else cpu.
        shard (tuple[int, int]): ``(i, n)``: process chunks ``c % n == i``.
        fp16 (bool): Autocast the teacher (fp16 on CUDA, bf16 on CPU).
        progress (bool): Show a progress bar. Defaults to True.
        skipped_report (str, optional): Defaults to ``<out>.skipped.txt``.
        summary_file (str, optional): Defaults to ``<out>.summary.json``.
        pseudo_labels (bool): Write the teacher's class after each selected
            path. Off by default: a labeled line is ground truth to
            ``ImageListDataset`` (and to an optional GT loss), while SSLD's
            distillation needs no label; the class is in the soft-label file.
        labeled_prefix (str, optional): Root of the relative paths of
            ``labeled``. Defaults to ``data_prefix``. When it differs, the
            labeled paths are rewritten relative to ``data_prefix`` (absolute
            when outside it), so every path of ``out`` resolves against
            ``data_prefix``. The first 20 paths of both lists are checked
            before the teacher runs; missing ones are warned about (``log``)
            and the warning ends the summary (``format_summary``).
        on_chunk_done (callable, optional): Called with each finished chunk id.
        log (callable): Progress messages. Defaults to :func:`print`.

    Returns:
        dict: ``merged`` (bool), ``summary`` (dict or None: None when other
        shards still have chunks to run), ``shard_stats``.

    Example:
        >>> select_topk('configs/teacher.py', 'teacher.pth', 'pool.txt',
        ...             k=1300, out='selected.txt', labeled='train.txt')
    """
    for name, value, low in (('k', k, 1), ('chunk_size', chunk_size, 1),
                             ('batch_size', batch_size, 1), ('soft_topn', soft_topn,
                                                             1)):
        if not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f'{name} must be an integer >= {low}, got {value!r}')
    run = rs.ShardRun.from_mapping(locals())
    outputs = SelectionOutputs.from_mapping(locals())
    if not osp.isfile(pool_list):
        raise FileNotFoundError(f'pool list {pool_list!r} does not exist')
    if labeled is not None and not osp.isfile(labeled):
        raise FileNotFoundError(f'labeled list {labeled!r} does not exist')

    for list_file, option, prefix in ((pool_list, '--data-prefix', data_prefix),
                                      (labeled, '--labeled-prefix',
                                       outputs.labeled_prefix)):
        if list_file is not None and shard[0] == 0:
            message = root_warning(list_file, option, prefix,
                                   *check_list_root(list_file, prefix))
            if message is not None:
                log(f'WARNING: {message}')

    from .teacher import load_teacher_config
    cfg = load_teacher_config(config)
    work_dir = work_dir or rs.default_work_dir(out)
    num_entries = rs.count_entries(pool_list)
    total = rs.num_chunks(num_entries, chunk_size)
    import hashlib
    manifest = {
        'tool': 'select_topk',
        'format_version': _FORMAT_VERSION,
        'pool_list_sha1': rs.file_sha1(pool_list),
        'pool_entries': num_entries,
        'data_prefix': data_prefix,
        'teacher_config_sha1':
        hashlib.sha1(cfg.pretty_text.encode('utf-8')).hexdigest(),
        'teacher_checkpoint': _checkpoint_fingerprint(checkpoint),
        'k': int(k),
        'chunk_size': int(chunk_size),
        'batch_size': int(batch_size),
        'soft_topn': int(soft_topn),
        'fp16': bool(fp16),
    }
    rs.prepare_work_dir(work_dir, manifest)
    stats = run_selection_shard(cfg, checkpoint, pool_list, work_dir, manifest, total,
                                run)
    if run.others_running(
            total, rs.done_chunks(work_dir, total, CHUNK_EXT),
            'chunks are still to run by other shards; the last '
            'shard to finish writes the outputs'):
        return {'merged': False, 'summary': None, 'shard_stats': stats}
    summary = merge_selection(
        pool_list, work_dir, outputs, k=int(k), total_chunks=total)
    return {'merged': True, 'summary': summary, 'shard_stats': stats}


def format_summary(summary: Dict[str, Any], max_classes: int = 20) -> str:
    """Human-readable summary lines for the end of a run."""
    below = summary['classes_below_k']
    lines = [
        f"images seen: {summary['images_seen']}, scored: "
        f"{summary['images_scored']}, skipped (unreadable): "
        f"{summary['images_skipped']}",
        f"selected: {summary['selected']} over {summary['num_classes']} "
        f"classes (k={summary['k']})",
        f"classes with fewer than k: {len(below)}" +
        (f" {below[:max_classes]}{' ...' if len(below) > max_classes else ''}"
         if below else ''),
    ]
    counts = summary['per_class_counts']
    if counts:
        lines.append(f'per-class counts: min {min(counts)}, max {max(counts)}' +
                     (f': {counts}' if len(counts) <= max_classes else ''))
    if summary['labeled_entries']:
        lines.append(f"merged with {summary['labeled_entries']} labeled "
                     f"entries ({summary['selected_already_labeled']} selected "
                     f"images were already labeled and dropped): "
                     f"{summary['written_entries']} lines")
    if summary.get('labeled_paths_rewritten'):
        lines.append(f"{summary['labeled_paths_rewritten']} labeled paths "
                     f"rewritten from --labeled-prefix "
                     f"{summary['labeled_prefix']!r} to --data-prefix "
                     f"{summary['data_prefix']!r}")
    selected = summary['written_entries'] - summary['labeled_entries']
    root = summary.get('data_prefix', '')
    lines.append(f"wrote {summary['out']}: {summary['labeled_entries']} labeled + "
                 f"{selected} selected lines (" +
                 ('path teacher_label' if summary['pseudo_labels'] else 'unlabeled') +
                 '); relative paths start from ' +
                 (f'{root!r}: train with data_prefix={root!r}'
                  if root else 'the current folder'))
    if summary.get('labeled_root_warning'):
        lines.append(f"WARNING: {summary['labeled_root_warning']}")
    return '\n'.join(lines)
