"""Per-class top-k with a deterministic order, in bounded memory.

Every candidate is a pool image with the class the teacher predicts for it
(argmax), its score (the softmax probability of that class) and its index in
the pool list. Within a class candidates are ranked by score, descending, and
ties by pool index, ascending; so the top-k of a union equals the top-k of the
union of the parts' top-k, whatever the parts (chunks, shards, resumed runs).
"""
from typing import Dict, List, Optional

import numpy as np

_KEYS = ('idx', 'cls', 'score')


def topk_order(idx: np.ndarray, cls: np.ndarray, score: np.ndarray,
               k: int) -> np.ndarray:
    """Positions of each class's ``k`` best candidates.

    Args:
        idx (np.ndarray): ``(N,)`` pool indices (unique), the tie breaker.
        cls (np.ndarray): ``(N,)`` predicted classes.
        score (np.ndarray): ``(N,)`` scores.
        k (int): Candidates kept per class (>= 1).

    Returns:
        np.ndarray: Positions into the inputs, ordered by class, then score
        (descending), then pool index (ascending).
    """
    if k < 1:
        raise ValueError(f'k must be >= 1, got {k}')
    n = len(idx)
    if not len(cls) == len(score) == n:
        raise ValueError(f'idx, cls and score differ in length: '
                         f'{n}, {len(cls)}, {len(score)}')
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    # np.lexsort sorts by the last key first.
    order = np.lexsort((idx, -score.astype(np.float64), cls))
    cls_sorted = cls[order]
    starts = np.flatnonzero(np.r_[True, cls_sorted[1:] != cls_sorted[:-1]])
    group_len = np.diff(np.r_[starts, n])
    rank = np.arange(n) - np.repeat(starts, group_len)
    return order[rank < k]


class ClassTopK:
    """Streaming per-class top-k whose memory is bounded by ``k x classes``.

    Candidates are buffered and compacted (all but each class's ``k`` best
    dropped) whenever the buffer outgrows the kept set, so memory stays below
    about ``2 x max(k x classes, min_buffer)`` candidates, independent of how
    many are added. Extra per-candidate arrays (e.g. top-N probabilities for
    soft labels) travel with their candidate.

    Args:
        k (int): Candidates kept per class.
        min_buffer (int): Candidates buffered before the first compaction.
            Defaults to 65536.

    Example:
        >>> topk = ClassTopK(k=2)
        >>> topk.add(idx=np.array([0, 1, 2]), cls=np.array([0, 0, 0]),
        ...          score=np.array([.5, .9, .7], dtype=np.float32))
        >>> topk.result()['idx'].tolist()
        [1, 2]
    """

    def __init__(self, k: int, min_buffer: int = 65536) -> None:
        if not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f'k must be an integer >= 1, got {k!r}')
        self.k = int(k)
        self.min_buffer = int(min_buffer)
        self._kept: Optional[Dict[str, np.ndarray]] = None
        self._buffer: List[Dict[str, np.ndarray]] = []
        self._buffered = 0
        self._fields: Optional[tuple] = None

    def __len__(self) -> int:
        kept = 0 if self._kept is None else len(self._kept['idx'])
        return kept + self._buffered

    def add(self, idx: np.ndarray, cls: np.ndarray, score: np.ndarray,
            **extra: np.ndarray) -> None:
        """Add candidates (arrays of equal length along the first axis)."""
        part = dict(
            idx=np.asarray(idx, dtype=np.int64),
            cls=np.asarray(cls, dtype=np.int64),
            score=np.asarray(score, dtype=np.float32))
        part.update({k: np.asarray(v) for k, v in extra.items()})
        fields = tuple(sorted(part))
        if self._fields is None:
            self._fields = fields
        elif fields != self._fields:
            raise ValueError(f'candidate fields changed from {self._fields} '
                             f'to {fields}')
        n = len(part['idx'])
        if any(len(v) != n for v in part.values()):
            raise ValueError('all candidate arrays need the same length, got '
                             f'{ {k: len(v) for k, v in part.items()} }')
        if n == 0:
            return
        self._buffer.append(part)
        self._buffered += n
        kept = 0 if self._kept is None else len(self._kept['idx'])
        if self._buffered > max(kept, self.min_buffer):
            self._compact()

    def _compact(self) -> None:
        parts = self._buffer if self._kept is None else [self._kept] + self._buffer
        if not parts:
            return
        merged = {f: np.concatenate([p[f] for p in parts]) for f in parts[0]}
        keep = topk_order(merged['idx'], merged['cls'], merged['score'], self.k)
        self._kept = {f: v[keep] for f, v in merged.items()}
        self._buffer, self._buffered = [], 0

    def result(self) -> Dict[str, np.ndarray]:
        """The kept candidates ordered by class, score (desc), pool index.

        Returns:
            dict: ``idx``, ``cls``, ``score`` and any extra fields; empty
            arrays if nothing was added.
        """
        self._compact()
        if self._kept is None:
            return {
                'idx': np.zeros(0, np.int64),
                'cls': np.zeros(0, np.int64),
                'score': np.zeros(0, np.float32)
            }
        return dict(self._kept)
