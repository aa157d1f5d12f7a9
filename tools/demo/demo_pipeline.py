"""The runs of ``make demo`` and a small dependency-aware job pool for them.

Every run is ``tools/train.py CONFIG`` in a subprocess (the real product, not a
side script), with ``--work-dir`` and ``--cfg-options`` that set the seed, the
data location and, for the smoke profile, shorter schedules:

=========================  ==========================================  =====
run                        what                                        seeds
=========================  ==========================================  =====
teacher                    ResNet-18 (CIFAR stem, 16-128 ch) on L      1
student_label_only         LeNet-5 on L with labels                    all
student_ssld               LeNet-5 distilled on L, label-free          all
student_ssld_unlabeled     distilled on L + U label-free, exported,    all
                           then fine-tuned on L (small lr)
=========================  ==========================================  =====
"""
import os
import os.path as osp
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG_DIR = osp.join(REPO, 'configs', 'demo')

#: result key -> config of the run (the last stage for two-stage runs).
CONFIGS = {
    'teacher': 'teacher_resnet18_fmnist.py',
    'student_label_only': 'lenet5_fmnist_label_only.py',
    'student_ssld': 'ssld_lenet5_fmnist_labeled.py',
    'distill_unlabeled': 'ssld_lenet5_fmnist_unlabeled.py',
    'finetune': 'lenet5_fmnist_finetune.py',
}
RESULT_KEYS = ('teacher', 'student_label_only', 'student_ssld',
               'student_ssld_unlabeled')

#: Settings of a demo size. ``epochs``: None keeps the configs' schedules.
PROFILES: Dict[str, dict] = {
    # `make demo`: Fashion-MNIST, L = 2000 labeled, U = the other 58000.
    'full':
    dict(
        num_labeled=2000,
        num_unlabeled=-1,
        seeds=(0, 1, 2),
        epochs=None,
        batch_size=None,
        val_batch_size=None),
    # A scaled-down pipeline check (tests): tiny schedules and batches.
    'smoke':
    dict(
        num_labeled=160,
        num_unlabeled=240,
        seeds=(0, 1),
        epochs=dict(
            teacher=3,
            student_label_only=2,
            student_ssld=2,
            distill_unlabeled=1,
            finetune=1),
        batch_size=16,
        val_batch_size=50),
}


def data_options(kind: str, data_root: str, labeled_idx: str,
                 unlabeled_idx: str) -> Dict[str, str]:
    """``--cfg-options`` pointing a demo config at a data folder and split.

    Args:
        kind (str): A key of :data:`CONFIGS`.
        data_root (str): Folder with the four unpacked Fashion-MNIST files.
        labeled_idx (str): Index file of L.
        unlabeled_idx (str): Index file of U.
    """
    if kind not in CONFIGS:
        raise ValueError(f'kind must be one of {sorted(CONFIGS)}, got {kind!r}')
    opts = {
        'val_dataloader.dataset.data_root': data_root,
        'test_dataloader.dataset.data_root': data_root,
    }
    if kind == 'distill_unlabeled':
        for i, idx in enumerate((labeled_idx, unlabeled_idx)):
            prefix = f'train_dataloader.dataset.datasets.{i}'
            opts[f'{prefix}.dataset.data_root'] = data_root
            opts[f'{prefix}.indices'] = idx
    else:
        opts['train_dataloader.dataset.dataset.data_root'] = data_root
        opts['train_dataloader.dataset.indices'] = labeled_idx
    return opts


def schedule_options(epochs: Optional[int], batch_size: Optional[int],
                     val_batch_size: Optional[int]) -> Dict[str, str]:
    """``--cfg-options`` for a shorter schedule / smaller batches (smoke runs)."""
    opts = {}
    if epochs is not None:
        opts.update({
            'train_cfg.max_epochs': str(epochs),
            'train_cfg.val_interval': '1',
            'param_scheduler.0.T_max': str(epochs),
        })
    if batch_size is not None:
        opts['train_dataloader.batch_size'] = str(batch_size)
    if val_batch_size is not None:
        opts['val_dataloader.batch_size'] = str(val_batch_size)
        opts['test_dataloader.batch_size'] = str(val_batch_size)
    return opts


def fast_teacher_options() -> Dict[str, str]:
    """Distiller options that speed up the frozen teacher on this machine.

    On CUDA: float16 autocast and channels-last. On a CPU with native
    bfloat16 (oneDNN reports it, e.g. AVX512-BF16 / AMX): bfloat16 autocast
    and channels-last. Otherwise none (the teacher runs in float32).
    """
    import torch
    if torch.cuda.is_available():
        return {
            'model.teacher_autocast': 'float16',
            'model.teacher_channels_last': 'True'
        }
    try:
        bf16 = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # pragma: no cover
        bf16 = False
    if bf16:
        return {
            'model.teacher_autocast': 'bfloat16',
            'model.teacher_channels_last': 'True'
        }
    return {}


def last_checkpoint(work_dir: str) -> str:
    """The checkpoint MMEngine recorded in ``work_dir/last_checkpoint``."""
    marker = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(marker):
        raise FileNotFoundError(f'{marker} does not exist: the run in '
                                f'{work_dir} did not save a checkpoint')
    with open(marker, encoding='utf-8') as f:
        path = f.read().strip()
    if not osp.isabs(path):
        path = osp.join(REPO, path)
    return path


@dataclass
class Job:
    """One step of the demo.

    Attributes:
        name (str): Unique name, e.g. ``'student_ssld/seed_1'``.
        run (Callable[[], list]): Called when the dependencies are done;
            returns the command (argv) to run, or ``None`` for a step done
            in-process (the callable did the work).
        deps (list[str]): Names of jobs that must succeed first.
        log_file (str): Where the command's stdout/stderr go.
        result (str): Result key this job's time counts for.
    """
    name: str
    run: Callable[[], Optional[List[str]]]
    deps: List[str] = field(default_factory=list)
    log_file: str = ''
    result: str = ''
    seconds: float = 0.0
    returncode: Optional[int] = None
    error: str = ''


class JobFailed(RuntimeError):
    """A demo step exited with an error; the message shows its log's tail."""


def run_jobs(jobs: Sequence[Job],
             max_parallel: int = 1,
             env: Optional[Dict[str, str]] = None,
             echo: Callable[[str], None] = print,
             poll: float = 0.2) -> None:
    """Run jobs, at most ``max_parallel`` at once, each after its deps.

    Stops at the first failure (running jobs are waited for) and raises
    :class:`JobFailed` with the tail of the failed job's log.
    """
    names = [j.name for j in jobs]
    if len(set(names)) != len(names):
        raise ValueError(f'job names must be unique: {names}')
    by_name = {j.name: j for j in jobs}
    for job in jobs:
        for dep in job.deps:
            if dep not in by_name:
                raise ValueError(f'job {job.name!r} depends on unknown {dep!r}')
    if max_parallel < 1:
        raise ValueError(f'max_parallel must be >= 1, got {max_parallel}')
    pending = list(jobs)
    running: Dict[str, tuple] = {}
    failed: Optional[Job] = None
    while (pending and failed is None) or running:
        # start what can start
        if failed is None:
            for job in list(pending):
                if len(running) >= max_parallel:
                    break
                if all(by_name[d].returncode == 0 for d in job.deps):
                    pending.remove(job)
                    start = time.time()
                    try:
                        cmd = job.run()
                    except Exception as e:  # an in-process step failed
                        job.returncode, job.seconds = 1, time.time() - start
                        job.error = f'{type(e).__name__}: {e}'
                        failed = job
                        break
                    if cmd is None:
                        job.returncode, job.seconds = 0, time.time() - start
                        echo(f'[demo] done    {job.name} ({job.seconds:.1f} s)')
                        continue
                    os.makedirs(osp.dirname(job.log_file) or '.', exist_ok=True)
                    log = open(job.log_file, 'w', encoding='utf-8')
                    proc = subprocess.Popen(
                        cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
                    running[job.name] = (proc, log, start)
                    echo(f'[demo] started {job.name}')
        if failed is None and pending and not running and not any(
                all(by_name[d].returncode == 0 for d in j.deps) for j in pending):
            raise ValueError('jobs wait for each other (a dependency cycle): '
                             f'{[j.name for j in pending]}')
        # reap finished ones
        for name, (proc, log, start) in list(running.items()):
            if proc.poll() is None:
                continue
            log.close()
            job = by_name[name]
            job.returncode, job.seconds = proc.returncode, time.time() - start
            del running[name]
            if proc.returncode == 0:
                echo(f'[demo] done    {name} ({job.seconds:.1f} s)')
            elif failed is None:
                failed = job
        time.sleep(poll)
    if failed is not None:
        detail = failed.error
        if not detail and failed.log_file and osp.isfile(failed.log_file):
            with open(failed.log_file, encoding='utf-8', errors='replace') as f:
                detail = ''.join(f.readlines()[-40:])
            detail = f'last lines of {failed.log_file}:\n{detail}'
        raise JobFailed(f'demo step {failed.name!r} failed '
                        f'(exit {failed.returncode}).\n{detail}')


def _fmt_options(opts: Dict[str, str]) -> List[str]:
    return [f'{k}={v}' for k, v in opts.items()]


def build_jobs(work_root: str,
               data_root: str,
               labeled_idx: str,
               unlabeled_idx: str,
               profile: dict,
               python: str = sys.executable) -> List[Job]:
    """All jobs of the demo: the teacher, then every student run per seed."""
    from ssld_mm.converters.extract_student import extract_student

    epochs = profile.get('epochs') or {}
    logs = osp.join(work_root, 'logs')

    def train_cmd(kind: str,
                  work_dir: str,
                  seed: int,
                  extra: Optional[Dict[str, str]] = None) -> List[str]:
        opts = {'randomness.seed': str(seed)}
        opts.update(data_options(kind, data_root, labeled_idx, unlabeled_idx))
        opts.update(
            schedule_options(
                epochs.get(kind), profile.get('batch_size'),
                profile.get('val_batch_size')))
        opts.update(extra or {})
        return [
            python,
            osp.join(REPO, 'tools', 'train.py'),
            osp.join(CONFIG_DIR, CONFIGS[kind]), '--work-dir', work_dir,
            '--cfg-options', *_fmt_options(opts)
        ]

    teacher_dir = osp.join(work_root, 'teacher')
    jobs = [
        Job('teacher',
            lambda: train_cmd('teacher', teacher_dir, 0),
            log_file=osp.join(logs, 'teacher.log'),
            result='teacher')
    ]

    fast = fast_teacher_options() if profile.get('fast_teacher', True) else {}
    if profile.get('distill_loss'):
        fast['model.distill_loss.type'] = profile['distill_loss']

    def teacher_opts() -> Dict[str, str]:
        return {'model.teacher_ckpt': last_checkpoint(teacher_dir), **fast}

    for seed in profile['seeds']:
        tag = f'seed_{seed}'
        wd = osp.join(work_root, 'student_label_only', tag)
        jobs.append(
            Job(f'student_label_only/{tag}',
                lambda wd=wd, s=seed: train_cmd('student_label_only', wd, s),
                log_file=osp.join(logs, f'student_label_only_{tag}.log'),
                result='student_label_only'))
    for seed in profile['seeds']:
        tag = f'seed_{seed}'
        wd = osp.join(work_root, 'student_ssld', tag)
        jobs.append(
            Job(f'student_ssld/{tag}',
                lambda wd=wd, s=seed: train_cmd('student_ssld', wd, s, teacher_opts()),
                deps=['teacher'],
                log_file=osp.join(logs, f'student_ssld_{tag}.log'),
                result='student_ssld'))
    for seed in profile['seeds']:
        tag = f'seed_{seed}'
        base = osp.join(work_root, 'student_ssld_unlabeled', tag)
        distill_dir, ft_dir = osp.join(base, 'distill'), osp.join(base, 'finetune')
        export = osp.join(base, 'student.pth')
        jobs.append(
            Job(f'student_ssld_unlabeled/{tag}/distill',
                lambda wd=distill_dir, s=seed: train_cmd('distill_unlabeled', wd, s,
                                                         teacher_opts()),
                deps=['teacher'],
                log_file=osp.join(logs, f'student_ssld_unlabeled_{tag}_distill.log'),
                result='student_ssld_unlabeled'))

        def do_export(src_dir=distill_dir, dst=export):
            extract_student(last_checkpoint(src_dir), dst)
            return None

        jobs.append(
            Job(f'student_ssld_unlabeled/{tag}/export',
                do_export,
                deps=[f'student_ssld_unlabeled/{tag}/distill'],
                result='student_ssld_unlabeled'))
        jobs.append(
            Job(f'student_ssld_unlabeled/{tag}/finetune',
                lambda wd=ft_dir, s=seed, ex=export: train_cmd(
                    'finetune', wd, s, {'load_from': ex}),
                deps=[f'student_ssld_unlabeled/{tag}/export'],
                log_file=osp.join(logs, f'student_ssld_unlabeled_{tag}_finetune.log'),
                result='student_ssld_unlabeled'))
    return _order_for_pool(jobs)


def _order_for_pool(jobs: List[Job]) -> List[Job]:
    """Teacher first (the critical path), then the long runs before short ones."""
    rank = {
        'teacher': 0,
        'student_ssld_unlabeled': 1,
        'student_ssld': 2,
        'student_label_only': 3
    }
    return sorted(jobs, key=lambda j: rank.get(j.result, 9))


def collect_results(work_root: str, seeds: Sequence[int]) -> Dict[str, dict]:
    """Final test top-1 and curves of every run, read from the work dirs.

    The final accuracy of a run is its *last* validation (no picking of the
    best epoch on the test set). For ``student_ssld_unlabeled`` the curve is
    the distillation stage followed by the fine-tuning stage, and the final
    accuracy is the fine-tuned student's.

    Returns:
        dict: result key -> ``dict(accs=[...], curves=[...], stage_epochs=int)``.
    """
    from demo_results import read_curve
    out = {'teacher': {'accs': [], 'curves': [], 'stage_epochs': 0}}
    curve = read_curve(osp.join(work_root, 'teacher'))
    out['teacher']['accs'].append(curve[-1][1])
    out['teacher']['curves'].append(curve)
    for key in ('student_label_only', 'student_ssld'):
        out[key] = {'accs': [], 'curves': [], 'stage_epochs': 0}
        for seed in seeds:
            curve = read_curve(osp.join(work_root, key, f'seed_{seed}'))
            out[key]['accs'].append(curve[-1][1])
            out[key]['curves'].append(curve)
    key = 'student_ssld_unlabeled'
    out[key] = {'accs': [], 'curves': [], 'stage_epochs': 0, 'distill_accs': []}
    for seed in seeds:
        base = osp.join(work_root, key, f'seed_{seed}')
        distill = read_curve(osp.join(base, 'distill'))
        finetune = read_curve(osp.join(base, 'finetune'))
        shift = distill[-1][0]
        out[key]['stage_epochs'] = shift
        out[key]['distill_accs'].append(distill[-1][1])
        out[key]['accs'].append(finetune[-1][1])
        out[key]['curves'].append(distill + [(e + shift, v) for e, v in finetune])
    return out


def job_seconds(jobs: Sequence[Job]) -> Dict[str, float]:
    """Total wall time of the jobs of each result key (all seeds, all stages)."""
    totals: Dict[str, float] = {}
    for job in jobs:
        totals[job.result] = totals.get(job.result, 0.0) + job.seconds
    return totals
