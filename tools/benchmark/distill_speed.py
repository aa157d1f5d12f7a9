"""Training speed of an SSLD distiller: student step, teacher forward, both.

On one synthetic batch and one machine, it times

(a) the student's training step alone (its own loss on labeled images),
(b) the teacher's inference forward alone (as the distiller runs it: no
    autograd, optionally channels-last and under autocast),
(c) the distiller's training step (teacher forward + student step + the
    distillation loss),

and reports images/s for each and the ratio ``t(c) / (t(a) + t(b))``: a
distiller that adds nothing beyond the two networks' own work gives 1.0.

Steps are measured in interleaved rounds (a, b, c, a, b, c, ...) and the
median time per step of each kind is used, so a machine whose load changes
during the run affects the three kinds alike.

Example:
    python tools/benchmark/distill_speed.py configs/ssld/r50vd_mbv3.py --batch-size 8
    python tools/benchmark/distill_speed.py configs/demo/ssld_lenet5_fmnist_unlabeled.py
    python tools/benchmark/distill_speed.py configs/ssld/r50vd_mbv3.py \
        --device cuda --batch-size 64 --amp --channels-last
"""
import argparse
import copy
import json
import os
import statistics
import time
from contextlib import nullcontext
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.config import DictAction

from ssld_mm.utils import cli
from ssld_mm.utils.autocast import AUTOCAST_DTYPES, check_autocast


def guess_input_shape(cfg) -> Tuple[int, int, int]:
    """``(C, H, W)`` of the training images of a config.

    Channels: the length of the data preprocessor's ``mean`` (3 without one).
    Size: the first ``crop_size`` / ``scale`` of the training pipeline (224 if
    none).
    """
    model = cfg.model
    pre = model.get('data_preprocessor') or {}
    if not pre and isinstance(model.get('student'), dict):
        pre = model.student.get('data_preprocessor') or {}
    channels = len(pre.get('mean', [0, 0, 0]))
    size = 224
    pipeline = []
    loader = cfg.get('train_dataloader') or {}
    dataset = loader.get('dataset') or {}
    while isinstance(dataset, dict):
        if 'pipeline' in dataset:
            pipeline = dataset['pipeline']
            break
        inner = dataset.get('dataset') or (dataset.get('datasets') or [None])[0]
        dataset = inner
    for step in pipeline:
        value = step.get('crop_size', step.get('scale'))
        if value is not None:
            size = value if isinstance(value, int) else int(max(value))
            break
    return channels, size, size


def make_batch(batch_size: int,
               shape: Sequence[int],
               num_classes: int = 10,
               seed: int = 0) -> dict:
    """A data-loader style batch: uint8 images and labeled ``DataSample`` s."""
    from mmpretrain.structures import DataSample
    gen = torch.Generator().manual_seed(seed)
    inputs = [
        torch.randint(0, 256, tuple(shape), generator=gen, dtype=torch.uint8)
        for _ in range(batch_size)
    ]
    labels = torch.randint(0, num_classes, (batch_size, ), generator=gen)
    samples = [DataSample().set_gt_label(int(y)) for y in labels]
    return dict(inputs=inputs, data_samples=samples)


def _sync(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


class _Stepper:
    """One training step of ``model`` on ``batch`` (preprocess, loss, backward,
    SGD update), with autocast / loss scaling / channels-last as asked."""

    def __init__(self, model, batch: dict, device: torch.device,
                 amp_dtype: Optional[torch.dtype], channels_last: bool) -> None:
        self.model = model
        self.batch = batch
        self.device = device
        self.amp_dtype = amp_dtype
        self.channels_last = channels_last
        params = [p for p in model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.SGD(
            params, lr=1e-4, momentum=0.9, weight_decay=1e-4)
        scale = amp_dtype == torch.float16 and device.type == 'cuda'
        self.scaler = torch.amp.GradScaler('cuda') if scale else None

    def _autocast(self):
        if self.amp_dtype is None:
            return nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.amp_dtype)

    def __call__(self) -> None:
        data = self.model.data_preprocessor(self.batch, True)
        inputs = data['inputs']
        if self.channels_last:
            inputs = inputs.contiguous(memory_format=torch.channels_last)
        with self._autocast():
            losses = self.model(inputs, data['data_samples'], mode='loss')
        loss = sum(v for k, v in losses.items() if k.startswith('loss'))
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            loss.backward()
            self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)


def benchmark(cfg,
              batch_size: Optional[int] = None,
              shape: Optional[Sequence[int]] = None,
              device: Optional[str] = None,
              amp: bool = False,
              amp_dtype: Optional[str] = None,
              channels_last: bool = False,
              teacher_autocast: Optional[str] = None,
              rounds: int = 5,
              iters: int = 4,
              warmup: int = 2,
              seed: int = 0) -> Dict:
    """Time (a) student step, (b) teacher forward, (c) distiller step.

    Args:
        cfg (Config): A config whose ``model`` is an ``SSLDDistiller``.
            A ``teacher_ckpt`` that does not exist is replaced by ``None``
            (random teacher weights: the speed does not depend on them).
        batch_size (int, optional): Defaults to the config's train batch size.
        shape (Sequence[int], optional): ``(C, H, W)``; defaults to
            :func:`guess_input_shape`.
        device (str, optional): ``'cpu'``, ``'cuda'``...; defaults to CUDA
            when available.
        amp (bool): Run (a) and (c) under autocast (float16 on CUDA with loss
            scaling, bfloat16 on CPU unless ``amp_dtype`` says otherwise); the
            teacher follows unless ``teacher_autocast`` is set.
        amp_dtype (str, optional): ``'float16'`` or ``'bfloat16'``.
        channels_last (bool): Student, teacher and inputs in channels-last.
        teacher_autocast (str, optional): The distiller's
            ``teacher_autocast`` (``'float16'``/``'bfloat16'``).
        rounds (int): Interleaved measurement rounds.
        iters (int): Steps of each kind per round.
        warmup (int): Untimed steps of each kind first.
        seed (int): Seed of the synthetic batch.

    Returns:
        dict: Settings, seconds per step and images/s of ``student_step``,
        ``teacher_forward`` and ``distiller_step``, and ``ratio``.
    """
    import os.path as osp

    from ssld_mm.registry import MODELS
    from ssld_mm.utils import register_all_modules

    register_all_modules(init_default_scope=True)
    model_cfg = copy.deepcopy(cfg.model)
    if str(model_cfg.get('type', '')).split('.')[-1] != 'SSLDDistiller':
        raise ValueError('distill_speed needs a config whose model is an '
                         f"SSLDDistiller, got type={model_cfg.get('type')!r}")
    ckpt = model_cfg.get('teacher_ckpt')
    teacher_weights = 'checkpoint'
    if ckpt is None or not osp.isfile(str(ckpt)):
        model_cfg['teacher_ckpt'] = None
        teacher_weights = 'random (teacher_ckpt not found)'
    if channels_last:
        model_cfg['teacher_channels_last'] = True
    check_autocast(amp_dtype, 'amp_dtype')
    dev = torch.device(device or ('cuda' if torch.cuda.is_available() else 'cpu'))
    amp_torch_dtype = None
    if amp:
        amp_torch_dtype = AUTOCAST_DTYPES[amp_dtype or (
            'float16' if dev.type == 'cuda' else 'bfloat16')]
        if teacher_autocast is None:
            teacher_autocast = 'float16' if amp_torch_dtype == torch.float16 \
                else 'bfloat16'
    if teacher_autocast is not None:
        model_cfg['teacher_autocast'] = teacher_autocast
    if batch_size is None:
        batch_size = int(cfg.get('train_dataloader', {}).get('batch_size', 8))
    if shape is None:
        shape = guess_input_shape(cfg)
    shape = tuple(int(s) for s in shape)

    distiller = MODELS.build(model_cfg).to(dev)
    distiller.train()
    student = copy.deepcopy(distiller.student).to(dev)
    student.train()
    if channels_last:
        distiller.student.to(memory_format=torch.channels_last)
        student.to(memory_format=torch.channels_last)
    num_classes = _num_classes(distiller)
    batch = make_batch(batch_size, shape, num_classes, seed)

    step_a = _Stepper(student, batch, dev, amp_torch_dtype, channels_last)
    step_c = _Stepper(distiller, batch, dev, amp_torch_dtype, channels_last)
    teacher_inputs = distiller.data_preprocessor(batch, True)['inputs']

    def step_b():
        distiller.teacher_logits(teacher_inputs)

    kinds = [('student_step', step_a), ('teacher_forward', step_b),
             ('distiller_step', step_c)]
    for _, fn in kinds:
        for _ in range(warmup):
            fn()
    _sync(dev)
    times: Dict[str, List[float]] = {name: [] for name, _ in kinds}
    for _ in range(rounds):
        for name, fn in kinds:
            _sync(dev)
            start = time.perf_counter()
            for _ in range(iters):
                fn()
            _sync(dev)
            times[name].append((time.perf_counter() - start) / iters)
    result = dict(
        device=str(dev) if dev.type != 'cuda' else torch.cuda.get_device_name(dev),
        torch_threads=torch.get_num_threads(),
        batch_size=batch_size,
        input_shape=list(shape),
        amp=amp,
        amp_dtype=None
        if amp_torch_dtype is None else str(amp_torch_dtype).split('.')[-1],
        channels_last=channels_last,
        teacher_autocast=teacher_autocast,
        teacher_weights=teacher_weights,
        rounds=rounds,
        iters=iters)
    for name, _ in kinds:
        sec = statistics.median(times[name])
        result[name] = dict(seconds=sec, images_per_s=batch_size / sec)
    result['ratio'] = result['distiller_step']['seconds'] / (
        result['student_step']['seconds'] + result['teacher_forward']['seconds'])
    return result


def _num_classes(distiller) -> int:
    head = getattr(distiller.student, 'head', None)
    n = getattr(head, 'num_classes', None)
    if n is None:
        backbone = getattr(distiller.student, 'backbone', None)
        n = getattr(backbone, 'num_classes', None)
    return int(n) if n and n > 0 else 10


def format_report(result: Dict, config: str = '') -> str:
    """Human-readable lines of a :func:`benchmark` result."""
    lines = [
        f'config: {config}' if config else '',
        f"device: {result['device']} (torch threads {result['torch_threads']}), "
        f"batch {result['batch_size']} x {tuple(result['input_shape'])}, "
        f"amp: {result['amp_dtype'] if result['amp'] else 'off'}, "
        f"channels-last: {result['channels_last']}, teacher autocast: "
        f"{result['teacher_autocast']}, teacher weights: {result['teacher_weights']}",
    ]
    labels = [('student_step', '(a) student training step'),
              ('teacher_forward', '(b) teacher inference forward'),
              ('distiller_step', '(c) distiller training step')]
    for key, label in labels:
        r = result[key]
        lines.append(f"{label:32s} {r['seconds'] * 1000:9.2f} ms/batch "
                     f"{r['images_per_s']:10.1f} img/s")
    lines.append(f"ratio c / (a + b) = {result['ratio']:.3f} "
                 '(1.0: the distiller adds nothing; goal <= 1.05)')
    return '\n'.join(line for line in lines if line)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='config whose model is an SSLDDistiller')
    parser.add_argument(
        '--batch-size',
        type=int,
        default=None,
        help='default: the config train batch size')
    parser.add_argument(
        '--shape',
        type=int,
        nargs=3,
        metavar=('C', 'H', 'W'),
        help='input shape (default: from the config)')
    parser.add_argument(
        '--device',
        default=None,
        help='cpu, cuda, cuda:1 ... (default: cuda if available)')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='autocast for student and distiller steps '
        '(float16 + loss scaling on CUDA, bfloat16 on CPU); '
        'the teacher runs under the same autocast')
    parser.add_argument(
        '--amp-dtype',
        choices=['float16', 'bfloat16'],
        default=None,
        help='autocast dtype of --amp')
    parser.add_argument(
        '--channels-last',
        action='store_true',
        help='student, teacher and inputs in channels-last')
    parser.add_argument(
        '--teacher-autocast',
        choices=['float16', 'bfloat16'],
        default=None,
        help="the distiller's teacher_autocast option")
    parser.add_argument(
        '--threads',
        type=int,
        default=None,
        help='torch CPU threads (default: torch default)')
    parser.add_argument(
        '--rounds',
        type=int,
        default=5,
        help='interleaved measurement rounds (default: 5)')
    parser.add_argument(
        '--iters',
        type=int,
        default=4,
        help='steps of each kind per round (default: 4)')
    parser.add_argument(
        '--warmup', type=int, default=2, help='untimed steps of each kind (default: 2)')
    parser.add_argument('--out', default=None, help='also write the result as JSON')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, key=value')
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    cfg = cli.load_config(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    result = benchmark(
        cfg,
        batch_size=args.batch_size,
        shape=args.shape,
        device=args.device,
        amp=args.amp,
        amp_dtype=args.amp_dtype,
        channels_last=args.channels_last,
        teacher_autocast=args.teacher_autocast,
        rounds=args.rounds,
        iters=args.iters,
        warmup=args.warmup)
    print(format_report(result, args.config))
    if args.out:
        if os.path.dirname(args.out):
            os.makedirs(os.path.dirname(args.out), exist_ok=True)
        with open(args.out, 'w', encoding='utf-8') as f:
            json.dump(dict(config=args.config, **result), f, indent=2)


if __name__ == '__main__':
    main()
