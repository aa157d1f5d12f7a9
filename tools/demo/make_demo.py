"""``make demo``: SSLD on Fashion-MNIST end to end (what run_demo.py calls)."""
import os
import os.path as osp
import sys
import time
from typing import Callable, Dict, Optional, Sequence

from demo_data import prepare_fashion_mnist, write_split
from demo_pipeline import (CONFIGS, PROFILES, RESULT_KEYS, build_jobs,
                           collect_results, job_seconds, run_jobs)
from demo_results import (format_markdown_table, format_table, mean_std,
                          plot_curves, read_curve, write_json)
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


def run_demo(work_root: str = 'work_dirs/demo',
             data_root: str = 'data/fashion_mnist',
             profile: str = 'full',
             seeds: Optional[Sequence[int]] = None,
             max_parallel: int = 2,
             threads: Optional[int] = None,
             source: Optional[str] = None,
             distill_loss: Optional[str] = None,
             fast_teacher: bool = True,
             stored: bool = True,
             echo: Callable[[str], None] = print) -> Dict[str, float]:
    """Prepare the data, train every run, print and save the comparison.

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

    Returns:
        dict: The content of ``results.json`` (mean test top-1 per run, %).
    """
    if profile not in PROFILES:
        raise ValueError(f'profile must be one of {sorted(PROFILES)}, got '
                         f'{profile!r}')
    settings = dict(PROFILES[profile])
    if seeds is not None:
        if not seeds:
            raise ValueError('seeds must not be empty')
        settings['seeds'] = tuple(seeds)
    settings['distill_loss'] = distill_loss
    settings['fast_teacher'] = fast_teacher
    if threads is None:
        threads = max(1, (os.cpu_count() or 1) // max_parallel)
    work_root = osp.abspath(work_root)
    data_root = osp.abspath(data_root)
    start = time.time()

    written = prepare_fashion_mnist(data_root, source,
                                    check_counts=profile == 'full')
    labeled_idx, unlabeled_idx = write_split(
        data_root, settings['num_labeled'], settings['num_unlabeled'])
    n_l = _count_lines(labeled_idx)
    n_u = _count_lines(unlabeled_idx)
    echo(f'[demo] Fashion-MNIST in {data_root}'
         f'{" (just unpacked)" if written else ""}: L = {n_l} labeled, '
         f'U = {n_u} unlabeled training images, test set for evaluation only')
    echo(f'[demo] {max_parallel} run(s) at a time, {threads} thread(s) each; '
         f'seeds {list(settings["seeds"])}; logs in {work_root}/logs')

    env = dict(os.environ)
    for var in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS'):
        env[var] = str(threads)
    # glibc malloc: keep freed activation memory instead of unmapping it and
    # faulting fresh pages in at every step (about 20-25% faster CPU training
    # here, see docs/demo.md). No effect with other allocators / platforms.
    for var, value in CPU_MALLOC_ENV.items():
        env.setdefault(var, value)
    jobs = build_jobs(work_root, data_root, labeled_idx, unlabeled_idx,
                      settings)
    keys = RESULT_KEYS + ((STORED_KEY, ) if stored else ())
    if stored:
        jobs = order_jobs(jobs, stored_jobs(work_root, data_root, labeled_idx,
                                            unlabeled_idx, settings))
    run_jobs(jobs, max_parallel=max_parallel, env=env, echo=echo)
    total = time.time() - start

    results = collect_results(work_root, settings['seeds'])
    if stored:
        results[STORED_KEY] = collect_stored(work_root, settings['seeds'],
                                             read_curve)
    seconds = job_seconds(jobs)
    summary = {key: round(mean_std(results[key]['accs'])[0], 2)
               for key in keys}
    rows = []
    for key in keys:
        note = ''
        if key.startswith('student_ssld_unlabeled'):
            mean_d, std_d = mean_std(results[key]['distill_accs'])
            note = f'after distillation only: {mean_d:.2f} +- {std_d:.2f}'
        rows.append(dict(name=key, accs=results[key]['accs'],
                         seconds=seconds.get(key, 0.0), note=note))
    plot_png = plot_curves(
        {LABELS[key]: results[key]['curves'] for key in keys},
        osp.join(work_root, 'test_accuracy.png'),
        title=f'Fashion-MNIST test top-1 (L = {n_l} labeled, U = {n_u} '
        'unlabeled)',
        curves_by_images={
            LABELS[key]: [_images_seen(c, key, results[key]['stage_epochs'],
                                       n_l, n_u) for c in results[key]['curves']]
            for key in keys})
    results_json = write_json(osp.join(work_root, 'results.json'), summary)
    write_json(osp.join(work_root, 'results_detail.json'), dict(
        profile=profile, num_labeled=n_l, num_unlabeled=n_u,
        seeds=list(settings['seeds']), max_parallel=max_parallel,
        threads_per_run=threads, total_seconds=round(total, 1),
        configs={k: f'configs/demo/{v}' for k, v in CONFIGS.items()},
        runs={key: dict(
            accs=results[key]['accs'],
            mean=round(mean_std(results[key]['accs'])[0], 2),
            std=round(mean_std(results[key]['accs'])[1], 2),
            seconds=round(seconds.get(key, 0.0), 1),
            curves=results[key]['curves'],
            **({'distill_accs': results[key]['distill_accs'],
                'distill_epochs': results[key]['stage_epochs']}
               if key.startswith('student_ssld_unlabeled') else {}))
              for key in keys},
        job_seconds={j.name: round(j.seconds, 1) for j in jobs}))
    with open(osp.join(work_root, 'results.md'), 'w', encoding='utf-8') as f:
        f.write(format_markdown_table(rows) + '\n')

    echo('')
    echo(format_table(rows))
    echo('')
    gain = summary['student_ssld_unlabeled'] - summary['student_label_only']
    echo(f'[demo] SSLD with unlabeled data vs label-only student: '
         f'{gain:+.2f} points (mean test top-1); teacher '
         f'{summary["teacher"]:.2f}.')
    if stored:
        jt = {j.name: j.seconds for j in jobs}
        echo(f'[demo] stored teacher vs online teacher (L + U, fine-tuned): '
             f'{summary[STORED_KEY]:.2f} vs '
             f'{summary["student_ssld_unlabeled"]:.2f}; its store took '
             f'{jt.get(STORED_KEY + "/generate", 0):.0f} s to generate '
             f'(once, for all seeds); demo without the stored row: '
             f'run_demo.py --no-stored.')
    echo(f'[demo] total wall time {total:.0f} s ({total / 60:.1f} min); '
         f'wrote {results_json}, {plot_png} and results.md')
    return summary


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
