"""``make demo``: SSLD on Fashion-MNIST end to end (what run_demo.py calls)."""
import os
import os.path as osp
import sys
import time
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from demo_data import prepare_fashion_mnist, write_split
from demo_pipeline import (CONFIGS, PROFILES, RESULT_KEYS, build_jobs, collect_results,
                           job_seconds, run_jobs)
from demo_results import (format_markdown_table, format_table, mean_std, plot_curves,
                          read_curve, write_json)
from demo_stored import KEY as STORED_KEY
from demo_stored import collect_stored, order_jobs, stored_jobs

#: glibc malloc settings for CPU training (see docs/demo.md, "Speed").
CPU_MALLOC_ENV = {
    'MALLOC_MMAP_THRESHOLD_': str(32 * 1024 * 1024),
    'MALLOC_TRIM_THRESHOLD_': str(1024 * 1024 * 1024),
}

LABELS = {
    'teacher': 'teacher (ResNet-18, L labels)',
    'student_label_only': 'student LeNet-5, L labels',
    'student_ssld': 'student SSLD on L (no labels)',
    'student_ssld_unlabeled': 'student SSLD on L+U (no labels), then fine-tuned on L',
    STORED_KEY: 'the same, stored teacher (no teacher in the loop)',
}


@dataclass
class DemoOptions:
    """Settings of one ``make demo`` run (``run_demo.py``'s flags).

    Args:
        work_root (str): Output folder (work dirs, logs, results, plot).
        data_root (str): Folder for the unpacked Fashion-MNIST files and the
            L/U index files.
        profile (str): ``'full'`` (``make demo``) or ``'smoke'`` (a scaled
            down check for tests, with any idx-format data).
        seeds (Sequence[int], optional): Student seeds; defaults to the
            profile's.
        max_parallel (int): Runs trained at the same time.
        threads (int, optional): Torch threads per run. Defaults to
            ``cpu_count // max_parallel`` (at least 1).
        source (str, optional): Where to take the Fashion-MNIST files from
            (default: ``$FASHION_MNIST_DIR``, then Debian's package folder).
        distill_loss (str, optional): Loss type of the distillation runs
            instead of the configs' (``SymmetricKLLoss``), e.g. ``'JSDivLoss'``.
        fast_teacher (bool): Run the frozen teacher of the distillation runs
            in channels-last under bfloat16 (CPUs with native bf16) or
            float16 (CUDA) autocast. Defaults to True.
        stored (bool): Also run ``student_ssld_unlabeled_stored``, the L + U
            distillation from a soft-label store generated once for all
            seeds (no teacher in the training loop). Defaults to True.

    Example:
        >>> run_demo(DemoOptions(profile='smoke', seeds=[0], max_parallel=1))
    """
    work_root: str = 'work_dirs/demo'
    data_root: str = 'data/fashion_mnist'
    profile: str = 'full'
    seeds: Optional[Sequence[int]] = None
    max_parallel: int = 2
    threads: Optional[int] = None
    source: Optional[str] = None
    distill_loss: Optional[str] = None
    fast_teacher: bool = True
    stored: bool = True

    def __post_init__(self) -> None:
        if self.profile not in PROFILES:
            raise ValueError(f'profile must be one of {sorted(PROFILES)}, got '
                             f'{self.profile!r}')
        if self.seeds is not None and not self.seeds:
            raise ValueError('seeds must not be empty')
        if self.threads is None:
            self.threads = max(1, (os.cpu_count() or 1) // self.max_parallel)
        self.work_root = osp.abspath(self.work_root)
        self.data_root = osp.abspath(self.data_root)

    def settings(self) -> dict:
        """The profile's settings with this run's seeds and options."""
        settings = dict(PROFILES[self.profile])
        if self.seeds is not None:
            settings['seeds'] = tuple(self.seeds)
        settings['distill_loss'] = self.distill_loss
        settings['fast_teacher'] = self.fast_teacher
        return settings

    @property
    def result_keys(self) -> Tuple[str, ...]:
        """The rows of the result table."""
        return RESULT_KEYS + ((STORED_KEY, ) if self.stored else ())


@dataclass
class DemoData:
    """The labeled subset L and the unlabeled pool U of a demo run."""
    labeled_idx: str
    unlabeled_idx: str
    num_labeled: int
    num_unlabeled: int


def run_demo(options: Optional[DemoOptions] = None,
             echo: Callable[[str], None] = print) -> Dict[str, float]:
    """Prepare the data, train every run, print and save the comparison.

    Args:
        options (DemoOptions, optional): The run's settings. Defaults to
            ``DemoOptions()`` (``make demo``).
        echo (Callable[[str], None]): Where progress lines go.

    Returns:
        dict: The content of ``results.json`` (mean test top-1 per run, %).
    """
    options = options or DemoOptions()
    settings = options.settings()
    start = time.time()
    data = prepare_data(options, settings, echo)
    jobs = plan_jobs(options, settings, data)
    run_jobs(
        jobs,
        max_parallel=options.max_parallel,
        env=training_env(options.threads),
        echo=echo)
    total = time.time() - start
    results = gather_results(options, settings)
    summary, rows = summarise(options, results, job_seconds(jobs))
    outputs = write_outputs(options, settings, data, jobs, results, rows, summary,
                            total)
    echo_summary(options, jobs, summary, rows, outputs, total, echo)
    return summary


def prepare_data(options: DemoOptions, settings: dict,
                 echo: Callable[[str], None]) -> DemoData:
    """Unpack Fashion-MNIST (if needed) and write the L / U index files."""
    written = prepare_fashion_mnist(
        options.data_root, options.source, check_counts=options.profile == 'full')
    labeled_idx, unlabeled_idx = write_split(options.data_root, settings['num_labeled'],
                                             settings['num_unlabeled'])
    data = DemoData(labeled_idx, unlabeled_idx, _count_lines(labeled_idx),
                    _count_lines(unlabeled_idx))
    echo(f'[demo] Fashion-MNIST in {options.data_root}'
         f'{" (just unpacked)" if written else ""}: L = {data.num_labeled} '
         f'labeled, U = {data.num_unlabeled} unlabeled training images, test '
         'set for evaluation only')
    echo(f'[demo] {options.max_parallel} run(s) at a time, {options.threads} '
         f'thread(s) each; seeds {list(settings["seeds"])}; logs in '
         f'{options.work_root}/logs')
    return data


def training_env(threads: int) -> Dict[str, str]:
    """The environment of the training subprocesses."""
    env = dict(os.environ)
    for var in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS'):
        env[var] = str(threads)
    # glibc malloc: keep freed activation memory instead of unmapping it and
    # faulting fresh pages in at every step (about 20-25% faster CPU training
    # here, see docs/demo.md). No effect with other allocators / platforms.
    for var, value in CPU_MALLOC_ENV.items():
        env.setdefault(var, value)
    return env


def plan_jobs(options: DemoOptions, settings: dict, data: DemoData) -> list:
    """Every job of the demo, in the order the pool should start them."""
    jobs = build_jobs(options.work_root, options.data_root, data.labeled_idx,
                      data.unlabeled_idx, settings)
    if options.stored:
        jobs = order_jobs(
            jobs,
            stored_jobs(options.work_root, options.data_root, data.labeled_idx,
                        data.unlabeled_idx, settings))
    return jobs


def gather_results(options: DemoOptions, settings: dict) -> Dict[str, dict]:
    """Accuracies and curves of every run, read from the work dirs."""
    results = collect_results(options.work_root, settings['seeds'])
    if options.stored:
        results[STORED_KEY] = collect_stored(options.work_root, settings['seeds'],
                                             read_curve)
    return results


def summarise(options: DemoOptions, results: Dict[str, dict],
              seconds: Dict[str, float]) -> Tuple[Dict[str, float], List[dict]]:
    """``results.json`` (mean top-1 per run) and the table rows."""
    keys = options.result_keys
    summary = {key: round(mean_std(results[key]['accs'])[0], 2) for key in keys}
    rows = []
    for key in keys:
        note = ''
        if key.startswith('student_ssld_unlabeled'):
            mean_d, std_d = mean_std(results[key]['distill_accs'])
            note = f'after distillation only: {mean_d:.2f} +- {std_d:.2f}'
        rows.append(
            dict(
                name=key,
                accs=results[key]['accs'],
                seconds=seconds.get(key, 0.0),
                note=note))
    return summary, rows


def write_outputs(options: DemoOptions, settings: dict, data: DemoData, jobs: list,
                  results: Dict[str, dict], rows: List[dict], summary: Dict[str, float],
                  total: float) -> Dict[str, str]:
    """Write the plot, ``results.json``, ``results_detail.json`` and
    ``results.md``; return their paths."""
    keys, root = options.result_keys, options.work_root
    n_l, n_u = data.num_labeled, data.num_unlabeled
    seconds = job_seconds(jobs)
    plot_png = plot_curves(
        {LABELS[key]: results[key]['curves']
         for key in keys},
        osp.join(root, 'test_accuracy.png'),
        title=f'Fashion-MNIST test top-1 (L = {n_l} labeled, U = {n_u} '
        'unlabeled)',
        curves_by_images={
            LABELS[key]: [
                _images_seen(c, key, results[key]['stage_epochs'], n_l, n_u)
                for c in results[key]['curves']
            ]
            for key in keys
        })
    results_json = write_json(osp.join(root, 'results.json'), summary)
    write_json(
        osp.join(root, 'results_detail.json'),
        dict(
            profile=options.profile,
            num_labeled=n_l,
            num_unlabeled=n_u,
            seeds=list(settings['seeds']),
            max_parallel=options.max_parallel,
            threads_per_run=options.threads,
            total_seconds=round(total, 1),
            configs={
                k: f'configs/demo/{v}'
                for k, v in CONFIGS.items()
            },
            runs={key: _run_detail(key, results[key], seconds)
                  for key in keys},
            job_seconds={j.name: round(j.seconds, 1)
                         for j in jobs}))
    with open(osp.join(root, 'results.md'), 'w', encoding='utf-8') as f:
        f.write(format_markdown_table(rows) + '\n')
    return dict(results_json=results_json, plot_png=plot_png)


def _run_detail(key: str, result: dict, seconds: Dict[str, float]) -> dict:
    mean, std = mean_std(result['accs'])
    detail = dict(
        accs=result['accs'],
        mean=round(mean, 2),
        std=round(std, 2),
        seconds=round(seconds.get(key, 0.0), 1),
        curves=result['curves'])
    if key.startswith('student_ssld_unlabeled'):
        detail.update(
            distill_accs=result['distill_accs'], distill_epochs=result['stage_epochs'])
    return detail


def echo_summary(options: DemoOptions, jobs: list, summary: Dict[str, float],
                 rows: List[dict], outputs: Dict[str, str], total: float,
                 echo: Callable[[str], None]) -> None:
    """Print the table and the one-line conclusions."""
    echo('')
    echo(format_table(rows))
    echo('')
    gain = summary['student_ssld_unlabeled'] - summary['student_label_only']
    echo(f'[demo] SSLD with unlabeled data vs label-only student: '
         f'{gain:+.2f} points (mean test top-1); teacher '
         f'{summary["teacher"]:.2f}.')
    if options.stored:
        jt = {j.name: j.seconds for j in jobs}
        echo(f'[demo] stored teacher vs online teacher (L + U, fine-tuned): '
             f'{summary[STORED_KEY]:.2f} vs '
             f'{summary["student_ssld_unlabeled"]:.2f}; its store took '
             f'{jt.get(STORED_KEY + "/generate", 0):.0f} s to generate '
             f'(once, for all seeds); demo without the stored row: '
             f'run_demo.py --no-stored.')
    echo(f'[demo] total wall time {total:.0f} s ({total / 60:.1f} min); '
         f'wrote {outputs["results_json"]}, {outputs["plot_png"]} and '
         'results.md')


def _images_seen(curve, key: str, stage_epochs: int, n_l: int, n_u: int):
    """Epochs -> thousands of training images seen (two-stage run: L + U
    per epoch for the distillation stage, L per fine-tuning epoch)."""
    out = []
    for epoch, acc in curve:
        if key.startswith('student_ssld_unlabeled'):
            first = min(epoch, stage_epochs)
            seen = first * (n_l + n_u) + (epoch - first) * n_l
        else:
            seen = epoch * n_l
        out.append((seen / 1000, acc))
    return out


def _count_lines(path: str) -> int:
    with open(path, encoding='utf-8') as f:
        return sum(1 for line in f if line.strip())


if __name__ == '__main__':  # pragma: no cover
    sys.exit('use tools/demo/run_demo.py')
