"""Speed of stored-teacher distillation against label-only and online training.

For one distiller config (teacher + student), on one machine, in one run:

Training steps (same student, same synthetic batch; interleaved rounds, median):
  (a) ``label_only``: the student ``ImageClassifier`` with its own CE loss;
  (b) ``online``: the ``SSLDDistiller`` step (teacher forward first, then the
      student), and (b') ``online_student_first``: the same step with the
      student's forward first (the order the distiller used before);
  (c) ``stored``: a plain ``ImageClassifier`` with the soft-label head of the
      same student, trained on stored teacher distributions (``gt_score``):
      stored-teacher mode, no teacher forward.
  Ratios ``c/a`` (goal <= 1.15: distillation at label-only cost), ``b/a`` and
  ``b/b'``, and minor page faults per step of (b) and (b').

Data pipeline (when the config's train pipeline has a ``RandomResizedCrop``):
  microseconds per image of ``RandomResizedCrop`` + ``RandomFlip`` against
  ``ReplayStoredView`` (store lookup + the same crop/resize/flip + the
  distribution), on synthetic images.

Generation (same condition): ``generate_soft_labels`` over N synthetic images
x M views against the teacher's pure inference on as many views (goal >= 0.9),
and the store's bytes per view.

Example:
    python tools/benchmark/stored_speed.py configs/ssld/r50vd_mbv3.py --batch-size 8
    python tools/benchmark/stored_speed.py \
        configs/demo/ssld_lenet5_fmnist_unlabeled.py \
        --view-config configs/demo/ssld_lenet5_fmnist_unlabeled_stored.py
"""
import argparse
import copy
import json
import os
import os.path as osp
import resource
import statistics
import tempfile
import time
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from distill_speed import _num_classes, _Stepper, _sync, guess_input_shape, make_batch
from mmengine.config import Config, DictAction

from ssld_mm.data_selection.soft_labels import _type_name
from ssld_mm.utils import cli

#: head of an online student -> its soft-label (stored-mode) variant
SOFT_LABEL_HEADS = {
    'LinearClsHead': 'ssld_mm.SoftLabelClsHead',
    'StackedLinearClsHead': 'ssld_mm.SoftLabelStackedClsHead',
    'PaddleMobileNetV3Head': 'ssld_mm.SoftLabelPaddleMobileNetV3Head',
    'ClsHead': 'ssld_mm.SoftLabelPlainClsHead',
}


def stored_model_cfg(distiller_cfg: dict) -> dict:
    """The stored-mode model of a distiller config: its student as a plain
    classifier whose head is the soft-label variant of the student's head,
    with the distiller's divergence and GT weight.

    Raises:
        ValueError: For a head without a soft-label variant.
    """
    student = copy.deepcopy(dict(distiller_cfg['student']))
    head = dict(student['head'])
    name = str(head.get('type', '')).split('.')[-1]
    if name not in SOFT_LABEL_HEADS:
        raise ValueError(f'no soft-label variant of head {name!r}; known: '
                         f'{sorted(SOFT_LABEL_HEADS)}')
    head['type'] = SOFT_LABEL_HEADS[name]
    head['distill_loss'] = copy.deepcopy(
        distiller_cfg.get('distill_loss', dict(type='SymmetricKLLoss')))
    head['gt_loss_weight'] = float(distiller_cfg.get('gt_loss_weight', 0.0))
    student['head'] = head
    pre = copy.deepcopy(
        distiller_cfg.get('data_preprocessor') or student.get('data_preprocessor')
        or {})
    pre['type'] = 'SSLDDataPreprocessor'
    student['data_preprocessor'] = pre
    return student


def stored_batch(batch: dict, num_classes: int, topk: int, seed: int = 0) -> dict:
    """The batch's images with label-free samples carrying a stored teacher
    distribution (random top-K, filled as the store does) as ``gt_score``."""
    from mmpretrain.structures import DataSample

    from ssld_mm.datasets.soft_label_store import fill_distribution
    rng = np.random.default_rng(seed)
    samples = []
    for _ in batch['inputs']:
        k = min(topk, num_classes)
        idx = rng.permutation(num_classes)[:k]
        prob = np.sort(rng.dirichlet(np.ones(num_classes)))[::-1][:k]
        score = fill_distribution(idx, prob.astype(np.float16), num_classes)
        samples.append(DataSample().set_gt_score(torch.from_numpy(score)))
    return dict(inputs=batch['inputs'], data_samples=samples)


class StudentFirst(torch.nn.Module):
    """The distiller's step with the student's forward before the teacher's
    (``SSLDDistiller.loss`` before it ran the teacher first), distillation
    loss only (the configs measured have ``gt_loss_weight=0``)."""

    def __init__(self, distiller) -> None:
        super().__init__()
        self.distiller = distiller
        self.data_preprocessor = distiller.data_preprocessor

    def forward(self, inputs, data_samples=None, mode='loss'):
        d = self.distiller
        logits = d.student.head(d.student.extract_feat(inputs))
        if isinstance(logits, (tuple, list)):
            logits = logits[-1]
        return {'loss_distill': d.distill_loss(logits, d.teacher_logits(inputs))}


def _cpu_all() -> float:
    """CPU seconds of this process and its finished children."""
    a = resource.getrusage(resource.RUSAGE_SELF)
    b = resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


def _minflt() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def _teacher_file_and_ckpt(cfg: Config, tmp: str) -> Tuple[object, str]:
    """The teacher's config (path or Config) and a checkpoint: the
    distiller's ``teacher_ckpt`` if it exists, else random weights saved."""
    from mmengine.registry import DefaultScope

    from ssld_mm.models.distillers.ssld_distiller import _model_cfg_from
    from ssld_mm.registry import MODELS
    teacher = cfg.model['teacher']
    tcfg = teacher if isinstance(teacher, str) else Config(
        dict(model=copy.deepcopy(dict(teacher)), default_scope='ssld_mm'))
    ckpt = cfg.model.get('teacher_ckpt')
    if ckpt and osp.isfile(str(ckpt)):
        return tcfg, str(ckpt)
    with DefaultScope.overwrite_default_scope('ssld_mm'):
        model = MODELS.build(_model_cfg_from(teacher))
    path = osp.join(tmp, 'random_teacher.pth')
    torch.save({'state_dict': model.state_dict()}, path)
    return tcfg, path


def benchmark_training(cfg: Config,
                       batch_size: int,
                       shape: Sequence[int],
                       device: str = 'cpu',
                       topk: int = 10,
                       rounds: int = 5,
                       iters: int = 3,
                       warmup: int = 2,
                       seed: int = 0) -> Dict:
    """Time (a) label-only, (b) online, (b') online student-first, (c) stored
    training steps. Returns seconds, images/s, page faults and ratios."""
    from ssld_mm.registry import MODELS
    model_cfg = copy.deepcopy(cfg.model)
    if str(model_cfg.get('type', '')).split('.')[-1] != 'SSLDDistiller':
        raise ValueError('stored_speed needs a config whose model is an '
                         f"SSLDDistiller, got type={model_cfg.get('type')!r}")
    if not (model_cfg.get('teacher_ckpt')
            and osp.isfile(str(model_cfg['teacher_ckpt']))):
        model_cfg['teacher_ckpt'] = None
    dev = torch.device(device)
    torch.manual_seed(seed)
    distiller = MODELS.build(model_cfg).to(dev).train()
    student = copy.deepcopy(distiller.student).to(dev).train()
    stored = MODELS.build(stored_model_cfg(model_cfg)).to(dev).train()
    stored.load_state_dict(distiller.student.state_dict(), strict=False)
    num_classes = _num_classes(distiller)
    batch = make_batch(batch_size, shape, num_classes, seed)
    sbatch = stored_batch(batch, num_classes, topk, seed)
    kinds = [
        ('label_only', _Stepper(student, batch, dev, None, False)),
        ('online', _Stepper(distiller, batch, dev, None, False)),
        ('online_student_first',
         _Stepper(StudentFirst(distiller), batch, dev, None, False)),
        ('stored', _Stepper(stored, sbatch, dev, None, False)),
    ]
    for _, fn in kinds:
        for _ in range(warmup):
            fn()
    times: Dict[str, List[float]] = {k: [] for k, _ in kinds}
    cpu: Dict[str, List[float]] = {k: [] for k, _ in kinds}
    faults: Dict[str, List[float]] = {k: [] for k, _ in kinds}
    for _ in range(rounds):
        for name, fn in kinds:
            _sync(dev)
            f0, t0, c0 = _minflt(), time.perf_counter(), time.process_time()
            for _ in range(iters):
                fn()
            _sync(dev)
            times[name].append((time.perf_counter() - t0) / iters)
            cpu[name].append((time.process_time() - c0) / iters)
            faults[name].append((_minflt() - f0) / iters)
    out = dict(
        batch_size=batch_size,
        input_shape=list(shape),
        num_classes=num_classes,
        topk=min(topk, num_classes),
        torch_threads=torch.get_num_threads(),
        device=str(dev),
        rounds=rounds,
        iters=iters)
    for name, _ in kinds:
        sec = statistics.median(times[name])
        out[name] = dict(
            seconds=sec,
            images_per_s=batch_size / sec,
            cpu_seconds=statistics.median(cpu[name]),
            minor_faults_per_step=statistics.median(faults[name]))
    # wall-clock ratios, and CPU-time ratios (robust on a machine that other
    # jobs load: they count the work, not the waiting)
    for suffix, field in (('', 'seconds'), ('_cpu', 'cpu_seconds')):
        sec = {k: out[k][field] for k, _ in kinds}
        out['ratio_stored_vs_label_only' + suffix] = (sec['stored'] / sec['label_only'])
        out['ratio_online_vs_label_only' + suffix] = (sec['online'] / sec['label_only'])
        out['ratio_teacher_first_vs_student_first' + suffix] = (
            sec['online'] / sec['online_student_first'])
    return out


def _write_images(folder: str,
                  n: int,
                  hw: Tuple[int, int],
                  channels: int,
                  seed: int = 0) -> str:
    """``n`` random JPEG (colour) / PNG (grey) images and their list."""
    import cv2
    rng = np.random.default_rng(seed)
    os.makedirs(folder, exist_ok=True)
    lines = []
    for i in range(n):
        shape = hw if channels == 1 else (*hw, 3)
        img = rng.integers(0, 256, shape, dtype=np.uint8)
        name = f'{i:05d}.' + ('png' if channels == 1 else 'jpg')
        cv2.imwrite(osp.join(folder, name), img)
        lines.append(name)
    path = osp.join(folder, 'list.txt')
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return path


def benchmark_generation(cfg: Config,
                         num_images: int,
                         views: int,
                         topk: int,
                         image_hw: Tuple[int, int],
                         batch_size: int,
                         device: str = 'cpu',
                         num_workers: int = 0,
                         autocast: Optional[str] = None,
                         channels_last: bool = False,
                         view_cfg: Optional[Config] = None) -> Dict:
    """Generation throughput against pure teacher inference, bytes per view,
    and the per-image cost of the random crop vs the replayed view.

    ``cfg`` gives the teacher (its distiller's), ``view_cfg`` (default:
    ``cfg``) the train pipeline whose crop/flip the views follow."""
    view_cfg = cfg if view_cfg is None else view_cfg
    from ssld_mm.data_selection.soft_labels import (ViewSampler, find_view_transforms,
                                                    generate_soft_labels,
                                                    teacher_view_probs)
    from ssld_mm.data_selection.teacher import build_teacher, load_teacher_config
    found = find_view_transforms(view_cfg)
    channels = guess_input_shape(cfg)[0]
    with tempfile.TemporaryDirectory() as tmp:
        tcfg, ckpt = _teacher_file_and_ckpt(cfg, tmp)
        lst = _write_images(osp.join(tmp, 'imgs'), num_images, image_hw, channels)
        store = osp.join(tmp, 'store')
        c0 = _cpu_all()
        t0 = time.perf_counter()
        res = generate_soft_labels(
            tcfg,
            ckpt,
            view_cfg,
            lst,
            store,
            views=views,
            topk=topk,
            data_prefix=osp.join(tmp, 'imgs'),
            batch_size=batch_size,
            num_workers=num_workers,
            device=device,
            teacher_autocast=autocast,
            channels_last=channels_last,
            progress=False,
            log=lambda *_: None)
        gen_s = time.perf_counter() - t0
        gen_cpu = _cpu_all() - c0
        shard_bytes = sum(
            osp.getsize(osp.join(store, f)) for f in os.listdir(store)
            if f.startswith('shard_') and f.endswith('.npz'))
        # pure inference: the teacher alone on as many views, same batches
        teacher = build_teacher(load_teacher_config(tcfg), ckpt, device)
        if channels_last:
            teacher.to(memory_format=torch.channels_last)
        h, w = ViewSampler.from_config(view_cfg, 0).crop_size
        x = torch.randint(
            0,
            256, (batch_size * views, channels, h, w),
            dtype=torch.uint8,
            device=device)
        n_batches = -(-num_images // batch_size)
        with torch.inference_mode():
            teacher_view_probs(teacher, x, autocast, channels_last)  # warm-up
            t0, c0 = time.perf_counter(), _cpu_all()
            for _ in range(n_batches):
                teacher_view_probs(teacher, x, autocast, channels_last)
            _sync(torch.device(device))
            inf_s = time.perf_counter() - t0
            inf_cpu = _cpu_all() - c0
        pipe = _pipeline_costs(found, store, lst, osp.join(tmp, 'imgs'))
    total_views = num_images * views
    # steady state: the shard loop (decode, crops, teacher, writes), without
    # the one-off start-up (teacher build, list checksum) in generation_seconds
    gen_rate = total_views / res['shard_stats']['seconds']
    inf_rate = n_batches * batch_size * views / inf_s
    return dict(
        num_images=num_images,
        views=views,
        topk=topk,
        num_workers=num_workers,
        image_hw=list(image_hw),
        batch_size=batch_size,
        generation_views_per_s=gen_rate,
        generation_seconds=gen_s,
        generation_loop_seconds=res['shard_stats']['seconds'],
        teacher_inference_views_per_s=inf_rate,
        ratio_generation_vs_inference=gen_rate / inf_rate,
        # CPU time of everything generate_soft_labels did (start-up, workers
        # included) against the teacher's forward passes alone
        ratio_generation_vs_inference_cpu=(total_views / max(gen_cpu, 1e-9)) /
        (n_batches * batch_size * views / max(inf_cpu, 1e-9)),
        bytes_per_view=shard_bytes / total_views,
        num_classes=res['index']['num_classes'],
        **pipe)


def _pipeline_costs(found: dict,
                    store: str,
                    lst: str,
                    root: str,
                    repeat: int = 3) -> Dict:
    """Microseconds per image: the random crop + RandomFlip vs
    ReplayStoredView (epoch 0), after loading (and any resize before the
    crop)."""
    from ssld_mm.data_selection.teacher import build_pipeline
    from ssld_mm.datasets.transforms import ReplayStoredView
    load = build_pipeline(
        Config(dict(default_scope=found['scope'])), found['load']
        or [dict(type='mmpretrain.LoadImageFromFile')])
    steps = [found['crop']] + ([found['flip']] if found['flip'] else [])
    rand = build_pipeline(Config(dict(default_scope=found['scope'])), steps)
    crop = found['crop']
    padded = _type_name(crop) == 'RandomCrop' and crop.get('padding')
    replay = ReplayStoredView(
        store=store,
        scale=crop.get('scale', crop.get('crop_size')),
        **({
            'pad_val': crop.get('pad_val', 0)
        } if padded else {}))
    replay.set_epoch(0)
    names = [ln.strip() for ln in open(lst) if ln.strip()]
    imgs = [load({'img_path': osp.join(root, n)})['img'] for n in names]
    times = {'random_crop_flip': [], 'replay_stored_view': []}
    for _ in range(repeat):
        for key, fn in (('random_crop_flip', rand), ('replay_stored_view', replay)):
            t0 = time.perf_counter()
            for i, img in enumerate(imgs):
                fn({'img': img, 'img_shape': img.shape, 'sample_idx': i})
            times[key].append((time.perf_counter() - t0) / len(imgs))
    return {f'{k}_us_per_image': statistics.median(v) * 1e6 for k, v in times.items()}


def format_report(train: Dict, gen: Optional[Dict], config: str = '') -> str:
    """Human-readable lines of the results."""
    lines = [
        f'config: {config}', f"device: {train['device']} (torch threads "
        f"{train['torch_threads']}), batch {train['batch_size']} x "
        f"{tuple(train['input_shape'])}"
    ]
    for key, label in (('label_only', '(a) label-only student step'),
                       ('online', '(b) online distiller step'),
                       ('online_student_first', "(b') online, student first"),
                       ('stored', '(c) stored-teacher step')):
        r = train[key]
        lines.append(f"{label:30s} {r['seconds'] * 1000:9.2f} ms/batch "
                     f"{r['images_per_s']:9.1f} img/s "
                     f"{r['cpu_seconds'] * 1000:9.2f} CPU ms/batch "
                     f"{r['minor_faults_per_step']:9.0f} page faults/step")
    for suffix, what in (('', 'wall'), ('_cpu', 'CPU time')):
        lines.append(
            f"{what}: stored / label-only = "
            f"{train['ratio_stored_vs_label_only' + suffix]:.3f} (goal <= 1.15);"
            f"  online / label-only = "
            f"{train['ratio_online_vs_label_only' + suffix]:.3f};  "
            'teacher-first / student-first = '
            f"{train['ratio_teacher_first_vs_student_first' + suffix]:.3f}")
    if gen:
        lines.append(
            f"generation: {gen['num_images']} images x {gen['views']} views "
            f"(top-{gen['topk']} of {gen['num_classes']}, "
            f"{gen['num_workers']} loader workers): "
            f"{gen['generation_views_per_s']:.1f} views/s vs teacher inference "
            f"{gen['teacher_inference_views_per_s']:.1f} views/s = "
            f"{gen['ratio_generation_vs_inference']:.3f} (goal >= 0.9; by CPU "
            f"time, start-up included: "
            f"{gen['ratio_generation_vs_inference_cpu']:.3f}); "
            f"{gen['bytes_per_view']:.1f} bytes/view")
        lines.append(f"pipeline per image after loading: random crop + RandomFlip "
                     f"{gen['random_crop_flip_us_per_image']:.0f} us, ReplayStoredView "
                     f"{gen['replay_stored_view_us_per_image']:.0f} us")
    return '\n'.join(lines)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('config', help='config whose model is an SSLDDistiller')
    p.add_argument(
        '--batch-size',
        type=int,
        default=None,
        help='default: the config train batch size')
    p.add_argument('--device', default='cpu')
    p.add_argument('--topk', type=int, default=10, help='K of the stored distributions')
    p.add_argument('--threads', type=int, default=None)
    p.add_argument('--rounds', type=int, default=5)
    p.add_argument('--iters', type=int, default=3)
    p.add_argument('--warmup', type=int, default=2)
    p.add_argument(
        '--gen-images',
        type=int,
        default=32,
        help='images of the generation measurement (0: skip it)')
    p.add_argument('--gen-views', type=int, default=4)
    p.add_argument(
        '--gen-image-size',
        type=int,
        nargs=2,
        default=None,
        metavar=('H', 'W'),
        help='synthetic image size (default: 375 500, or 28 28 for '
        'one-channel inputs)')
    p.add_argument(
        '--gen-batch-size',
        type=int,
        default=8,
        help='images per generation batch (x views)')
    p.add_argument(
        '--view-config',
        help='config whose train pipeline '
        'gives the views of the generation measurement (default: '
        'the config; e.g. a stored-mode config when the online one '
        'reads images without a loading transform)')
    p.add_argument(
        '--gen-workers',
        type=int,
        default=1,
        help='DataLoader workers of the generation (decode and '
        'crops overlap the teacher)')
    p.add_argument('--teacher-autocast', choices=['float16', 'bfloat16'])
    p.add_argument('--channels-last', action='store_true')
    p.add_argument('--out', help='also write the results as JSON')
    p.add_argument('--cfg-options', nargs='+', action=DictAction)
    return p.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    from ssld_mm.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    cfg = cli.load_config(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    shape = guess_input_shape(cfg)
    bs = args.batch_size or int(cfg.train_dataloader.get('batch_size', 8))
    train = benchmark_training(cfg, bs, shape, args.device, args.topk, args.rounds,
                               args.iters, args.warmup)
    gen = None
    if args.gen_images > 0:
        from ssld_mm.data_selection.soft_labels import find_view_transforms
        view_cfg = cli.load_config(args.view_config) if args.view_config \
            else cfg
        try:
            find_view_transforms(view_cfg)
        except ValueError as e:
            print(f'generation not measured: {e}')
        else:
            hw = tuple(
                args.gen_image_size or ((28, 28) if shape[0] == 1 else (375, 500)))
            gen = benchmark_generation(
                cfg,
                args.gen_images,
                args.gen_views,
                train['topk'],
                hw,
                args.gen_batch_size,
                args.device,
                num_workers=args.gen_workers,
                autocast=args.teacher_autocast,
                channels_last=args.channels_last,
                view_cfg=view_cfg)
    print(format_report(train, gen, args.config))
    if args.out:
        if osp.dirname(args.out):
            os.makedirs(osp.dirname(args.out), exist_ok=True)
        with open(args.out, 'w', encoding='utf-8') as f:
            json.dump(
                dict(config=args.config, training=train, generation=gen), f, indent=2)


if __name__ == '__main__':
    main()
