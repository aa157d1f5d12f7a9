"""The stored-teacher row of ``make demo``: ``student_ssld_unlabeled_stored``.

The L + U distillation of ``student_ssld_unlabeled`` without the teacher in
the training loop (FKD-style, docs/soft_label_store.md):

=================================  ==========================================
job                                what
=================================  ==========================================
``.../png``                        L + U as PNG files and their image list
                                   (in-process, once; kept in the data root)
``.../generate``                   the teacher's 10 probabilities on M views
                                   per image (M = distillation epochs), once:
                                   one store serves every seed
``.../seed_N/distill``             LeNet-5 ``ImageClassifier`` with a
                                   soft-label head, replaying the stored views
``.../seed_N/finetune``            fine-tuned on L, as the online run
=================================  ==========================================
"""
import os.path as osp
import sys
from typing import Dict, List, Optional, Sequence

from demo_pipeline import (CONFIG_DIR, CONFIGS, REPO, Job, _fmt_options, data_options,
                           fast_teacher_options, last_checkpoint, schedule_options)

KEY = 'student_ssld_unlabeled_stored'
STORED_CONFIG = 'ssld_lenet5_fmnist_unlabeled_stored.py'
#: position of ReplayStoredView in the stored config's train pipeline
_REPLAY_AT = 2


def stored_options(data_root: str, store: str) -> Dict[str, str]:
    """``--cfg-options`` of the stored distillation run: data and store."""
    return {
        'val_dataloader.dataset.data_root': data_root,
        'test_dataloader.dataset.data_root': data_root,
        'train_dataloader.dataset.data_root': data_root,
        f'train_dataloader.dataset.pipeline.{_REPLAY_AT}.store': store,
    }


def generate_cmd(python: str, teacher_ckpt: str, list_path: str, data_root: str,
                 store: str, views: int, fast_teacher: bool) -> List[str]:
    """The ``generate_soft_labels.py`` command of the demo's store."""
    cmd = [
        python,
        osp.join(REPO, 'tools', 'data', 'generate_soft_labels.py'),
        osp.join(CONFIG_DIR, CONFIGS['teacher']), teacher_ckpt, '--train-config',
        osp.join(CONFIG_DIR, STORED_CONFIG), '--list', list_path, '--data-prefix',
        data_root, '--views',
        str(views), '--topk', '10', '--out', store, '--batch-size', '128',
        '--num-workers', '0', '--no-progress'
    ]
    fast = fast_teacher_options() if fast_teacher else {}
    if fast.get('model.teacher_autocast'):
        cmd += ['--teacher-autocast', fast['model.teacher_autocast'], '--channels-last']
    return cmd


def stored_jobs(work_root: str,
                data_root: str,
                labeled_idx: str,
                unlabeled_idx: str,
                profile: dict,
                python: str = sys.executable) -> List[Job]:
    """The jobs of the stored row (they depend on the ``teacher`` job)."""
    from demo_data import write_png_list

    epochs = profile.get('epochs') or {}
    views = int(epochs.get('distill_unlabeled') or 3)  # one view per epoch
    logs = osp.join(work_root, 'logs')
    root = osp.join(work_root, KEY)
    store = osp.join(root, 'soft_labels')
    list_path = osp.join(data_root, 'lu_png_list.txt')
    teacher_dir = osp.join(work_root, 'teacher')
    sched = dict(
        batch_size=profile.get('batch_size'),
        val_batch_size=profile.get('val_batch_size'))

    def png():
        write_png_list(data_root, labeled_idx, unlabeled_idx)
        return None

    jobs = [
        Job(f'{KEY}/png', png, result=KEY),
        Job(f'{KEY}/generate',
            lambda: generate_cmd(python, last_checkpoint(teacher_dir), list_path,
                                 data_root, store, views,
                                 profile.get('fast_teacher', True)),
            deps=['teacher', f'{KEY}/png'],
            log_file=osp.join(logs, f'{KEY}_generate.log'),
            result=KEY),
    ]

    def train_cmd(config: str, work_dir: str, seed: int, opts: Dict[str,
                                                                    str]) -> List[str]:
        return [
            python,
            osp.join(REPO, 'tools', 'train.py'),
            osp.join(CONFIG_DIR, config), '--work-dir', work_dir, '--cfg-options',
            *_fmt_options({
                'randomness.seed': str(seed),
                **opts
            })
        ]

    for seed in profile['seeds']:
        tag = f'seed_{seed}'
        distill_dir = osp.join(root, tag, 'distill')
        ft_dir = osp.join(root, tag, 'finetune')
        jobs.append(
            Job(f'{KEY}/{tag}/distill',
                lambda wd=distill_dir, s=seed: train_cmd(
                    STORED_CONFIG, wd, s, {
                        **stored_options(data_root, store),
                        **schedule_options(epochs.get('distill_unlabeled'), **sched)
                    }),
                deps=[f'{KEY}/generate'],
                log_file=osp.join(logs, f'{KEY}_{tag}_distill.log'),
                result=KEY))
        jobs.append(
            Job(
                f'{KEY}/{tag}/finetune',
                lambda wd=ft_dir, s=seed, src=distill_dir: train_cmd(
                    CONFIGS['finetune'],
                    wd,
                    s,
                    {
                        **data_options('finetune', data_root, labeled_idx, unlabeled_idx),  # noqa: E501
                        **schedule_options(epochs.get('finetune'), **sched),
                        'load_from':
                        last_checkpoint(src),
                    }),
                deps=[f'{KEY}/{tag}/distill'],
                log_file=osp.join(logs, f'{KEY}_{tag}_finetune.log'),
                result=KEY))
    return jobs


def order_jobs(online: List[Job], stored: List[Job]) -> List[Job]:
    """The pool starts ready jobs in list order: the teacher, then the PNG
    export (in-process, while the teacher trains) and the generation (the
    stored row's critical path), then the online runs, then the rest."""
    head = [j for j in online if j.name == 'teacher']
    first = [j for j in stored if j.name.endswith(('/png', '/generate'))]
    rest = [j for j in online if j.name != 'teacher']
    return head + first + rest + [j for j in stored if j not in first]


def collect_stored(work_root: str, seeds: Sequence[int], read_curve) -> Optional[dict]:
    """Accuracies and curves of the stored row, as for the online two-stage
    run (final = the fine-tuned student's last validation)."""
    out = {'accs': [], 'curves': [], 'stage_epochs': 0, 'distill_accs': []}
    for seed in seeds:
        base = osp.join(work_root, KEY, f'seed_{seed}')
        distill = read_curve(osp.join(base, 'distill'))
        finetune = read_curve(osp.join(base, 'finetune'))
        shift = distill[-1][0]
        out['stage_epochs'] = shift
        out['distill_accs'].append(distill[-1][1])
        out['accs'].append(finetune[-1][1])
        out['curves'].append(distill + [(e + shift, v) for e, v in finetune])
    return out
