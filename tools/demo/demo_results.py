"""Read accuracies from MMEngine work dirs; summarise, tabulate and plot them.

MMEngine's ``LocalVisBackend`` writes ``<work_dir>/<timestamp>/vis_data/
scalars.json``: one JSON object per line, training lines (with ``loss``,
``lr``, ``iter``) and validation lines (``accuracy/top1`` and ``step`` =
epoch for epoch-based loops).
"""
import glob
import json
import math
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

Curve = List[Tuple[int, float]]


def find_scalars_file(work_dir: str) -> str:
    """The ``scalars.json`` of the latest run in ``work_dir``.

    Raises:
        FileNotFoundError: If the work dir holds no ``*/vis_data/scalars.json``.
    """
    files = glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))
    if not files:
        raise FileNotFoundError(
            f'no */vis_data/scalars.json under {work_dir!r}: did the run '
            'finish and does the config use LocalVisBackend?')
    # timestamps (YYYYmmdd_HHMMSS) sort chronologically
    return sorted(files, key=lambda p: osp.basename(osp.dirname(osp.dirname(p))))[-1]


def read_curve(work_dir: str, key: str = 'accuracy/top1') -> Curve:
    """``[(epoch, value), ...]`` of a validation metric, in order.

    A resumed run logs some epochs twice; the last value of an epoch wins.
    """
    values: Dict[int, float] = {}
    with open(find_scalars_file(work_dir), encoding='utf-8') as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            record = json.loads(line)
            if key in record:
                values[int(record['step'])] = float(record[key])
    if not values:
        raise ValueError(f'{find_scalars_file(work_dir)} has no {key!r} entry')
    return sorted(values.items())


def mean_std(values: Sequence[float]) -> Tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    if not values:
        raise ValueError('mean_std needs at least one value')
    mean = sum(values) / len(values)
    if len(values) == 1:
        return mean, 0.0
    var = sum((v - mean)**2 for v in values) / (len(values) - 1)
    return mean, math.sqrt(var)


def format_table(rows: Sequence[Dict]) -> str:
    """A fixed-width text table of demo results.

    Args:
        rows: dicts with ``name``, ``accs`` (list of final top-1 per seed),
            ``seconds`` (total wall time of the run's seeds), optional ``note``.
    """
    header = ('run', 'test top-1 per seed (%)', 'mean +- std (%)', 'wall time', 'note')
    lines = []
    for row in rows:
        mean, std = mean_std(row['accs'])
        per_seed = ', '.join(f'{a:.2f}' for a in row['accs'])
        spread = f'{mean:.2f} +- {std:.2f}' if len(row['accs']) > 1 else f'{mean:.2f}'
        lines.append((row['name'], per_seed, spread, f"{row['seconds']:.0f} s",
                      row.get('note', '')))
    widths = [max(len(str(r[i])) for r in [header] + lines) for i in range(5)]

    def fmt(cells):
        return '  '.join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()

    sep = '  '.join('-' * w for w in widths)
    return '\n'.join([fmt(header), sep] + [fmt(r) for r in lines])


def format_markdown_table(rows: Sequence[Dict]) -> str:
    """The same table as :func:`format_table`, in Markdown."""
    out = [
        '| run | test top-1 per seed (%) | mean +- std (%) | wall time | note |',
        '| --- | --- | --- | --- | --- |'
    ]
    for row in rows:
        mean, std = mean_std(row['accs'])
        per_seed = ', '.join(f'{a:.2f}' for a in row['accs'])
        out.append(f"| {row['name']} | {per_seed} | {mean:.2f} +- {std:.2f} | "
                   f"{row['seconds']:.0f} s | {row.get('note', '')} |")
    return '\n'.join(out)


def write_json(path: str, data: Dict) -> str:
    """Write ``data`` as indented JSON (parents created); returns ``path``."""
    if osp.dirname(path):
        os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(data, f, indent=2, sort_keys=False)
        f.write('\n')
    return path


def plot_curves(curves: Dict[str, List[Curve]],
                out_png: str,
                title: str = 'Fashion-MNIST test top-1',
                curves_by_images: Optional[Dict[str, List[Curve]]] = None) -> str:
    """Plot test accuracy against epoch, one colour per run, one line per seed.

    Args:
        curves: run name -> list of curves (one per seed), x = epoch.
        out_png (str): Output file.
        title (str): Figure title.
        curves_by_images: The same runs with x = thousands of training
            images seen; drawn as a second panel when given.

    Returns:
        str: ``out_png``.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    panels = [('epoch', curves)]
    if curves_by_images:
        panels.append(('training images seen (thousands)', curves_by_images))
    fig, axes = plt.subplots(
        1, len(panels), figsize=(7 * len(panels), 5), dpi=100, squeeze=False)
    colors = plt.rcParams['axes.prop_cycle'].by_key()['color']
    for ax, (xlabel, runs) in zip(axes[0], panels):
        for i, (name, seeds) in enumerate(runs.items()):
            for j, curve in enumerate(seeds):
                ax.plot([x for x, _ in curve], [v for _, v in curve],
                        color=colors[i % len(colors)],
                        alpha=0.85,
                        marker='.',
                        markersize=4,
                        linewidth=1.2,
                        label=name if j == 0 else None)
        ax.set_xlabel(xlabel)
        ax.set_ylabel('test top-1 (%)')
        ax.grid(True, alpha=0.3)
        ax.legend(loc='lower right', fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    if osp.dirname(out_png):
        os.makedirs(osp.dirname(out_png), exist_ok=True)
    fig.savefig(out_png)
    plt.close(fig)
    return out_png
