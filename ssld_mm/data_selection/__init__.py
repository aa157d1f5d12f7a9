"""SSLD data selection: teacher top-k per class and SIFT dedup against val.

Pure functions (no argparse); ``tools/data/select_topk.py`` and
``tools/data/dedup_sift.py`` are thin command-line wrappers. See
``docs/data_selection.md``.
"""
from .dedup import SiftMatchParams, build_val_features, dedup_pool, format_dedup_summary
from .resumable import ShardRun, parse_shard
from .select_topk import (SelectionOutputs, format_summary, merge_selection,
                          select_topk, shard_and_device, shard_from_launcher)
from .sift import DEFAULTS as SIFT_DEFAULTS
from .sift import (Match, SiftFeatures, SiftIndex, extract_sift, load_gray,
                   mirror_features)
from .soft_labels import generate_soft_labels
from .topk import ClassTopK, topk_order

__all__ = [
    'select_topk', 'merge_selection', 'SelectionOutputs', 'format_summary',
    'shard_from_launcher', 'shard_and_device', 'parse_shard', 'ShardRun', 'ClassTopK',
    'topk_order', 'dedup_pool', 'SiftMatchParams', 'build_val_features',
    'format_dedup_summary', 'SiftIndex', 'SiftFeatures', 'Match', 'extract_sift',
    'load_gray', 'mirror_features', 'SIFT_DEFAULTS', 'generate_soft_labels'
]
