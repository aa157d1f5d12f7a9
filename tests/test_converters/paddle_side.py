"""The Paddle half of the parity tests; runs inside ``.venv-paddle`` only.

It builds PaddleClas models from the *installed* ``paddleclas`` package's model
files (``ppcls/arch/backbone/...``) without running the package's heavy
``__init__`` files: each package on the way is registered as an empty module
whose ``__path__`` points at the real folder, and the only helper the model
files need from ``ppcls.utils.save_load`` (pretrained loading, never used here)
is replaced by a stub.

Usage (from the main venv's tests, through :func:`subprocess.run`)::

    .venv-paddle/bin/python tests/test_converters/paddle_side.py --check
    .venv-paddle/bin/python tests/test_converters/paddle_side.py dump \
        --out DIR --seed 0 --input 2,3,64,64 ResNet50_vd MobileNetV3_large_x1_0
    .venv-paddle/bin/python tests/test_converters/paddle_side.py keys \
        --out DIR ResNet18_vd ...

``dump`` writes ``<arch>.pdparams`` (random weights, random BN statistics),
``<arch>_input.npy`` and ``<arch>_logits.npy`` (eval mode, fp32);
``keys`` writes ``<arch>.json``: {paddle key: shape}.
"""
import argparse
import importlib
import importlib.util
import json
import logging
import os
import os.path as osp
import sys
import types

# Module of PaddleClas (relative to ppcls.arch.backbone) that defines each arch
# under the arch's own name.
_MODULES = {
    'legendary_models.resnet': [
        'ResNet18_vd', 'ResNet34_vd', 'ResNet50_vd', 'ResNet101_vd', 'ResNet152_vd',
        'ResNet200_vd'
    ],
    'legendary_models.mobilenet_v3': [
        f'MobileNetV3_{size}_x{scale}' for size in ('large', 'small')
        for scale in ('0_35', '0_5', '0_75', '1_0', '1_25')
    ],
    'legendary_models.mobilenet_v1':
    ['MobileNetV1', 'MobileNetV1_x0_25', 'MobileNetV1_x0_5', 'MobileNetV1_x0_75'],
    'model_zoo.mobilenet_v2': [
        'MobileNetV2', 'MobileNetV2_x0_25', 'MobileNetV2_x0_5', 'MobileNetV2_x0_75',
        'MobileNetV2_x1_5', 'MobileNetV2_x2_0'
    ],
    'model_zoo.res2net_vd':
    ['Res2Net50_vd_26w_4s', 'Res2Net101_vd_26w_4s', 'Res2Net200_vd_26w_4s'],
}
ARCH_MODULE = {a: m for m, archs in _MODULES.items() for a in archs}


def _prepare_ppcls():
    """Make ``ppcls.arch.backbone.*`` importable from the installed package."""
    spec = importlib.util.find_spec('paddleclas')
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit('paddleclas is not installed in this interpreter '
                         f'({sys.executable}); run tools/setup_paddle_env.sh')
    root = list(spec.submodule_search_locations)[0]
    for name in ('ppcls', 'ppcls.arch', 'ppcls.arch.backbone',
                 'ppcls.arch.backbone.legendary_models',
                 'ppcls.arch.backbone.model_zoo', 'ppcls.arch.backbone.base',
                 'ppcls.utils'):
        module = types.ModuleType(name)
        module.__path__ = [osp.join(root, *name.split('.'))]
        sys.modules[name] = module

    def _no_pretrained(*args, **kwargs):
        raise RuntimeError('pretrained weights are not loaded in parity tests')

    save_load = types.ModuleType('ppcls.utils.save_load')
    save_load.load_dygraph_pretrain = _no_pretrained
    save_load.load_dygraph_pretrain_from_url = _no_pretrained
    sys.modules['ppcls.utils.save_load'] = save_load
    importlib.import_module('ppcls.utils.logger').init_logger(log_level=logging.ERROR)
    return root


def build(arch):
    """Build PaddleClas's ``arch`` (random init, 1000 classes)."""
    import paddle
    if arch not in ARCH_MODULE:
        raise SystemExit(f'unknown arch {arch!r}; known: {sorted(ARCH_MODULE)}')
    module = importlib.import_module('ppcls.arch.backbone.' + ARCH_MODULE[arch])
    # Model-zoo files give parameters explicit names; a fresh name scope per
    # model lets one process build several of them.
    with paddle.utils.unique_name.guard():
        return getattr(module, arch)(pretrained=False)


def randomize(model, rng):
    """Random BN statistics/affine and random biases (PaddleClas initialises
    biases, BN mean and BN scale to constants, which would hide mistakes)."""
    import numpy as np
    state = model.state_dict()
    new = {}
    for key, value in state.items():
        shape = list(value.shape)
        stem = key.rsplit('.', 1)[0]
        if key.endswith('._variance'):
            new[key] = rng.uniform(0.5, 2.0, shape)
        elif key.endswith('._mean'):
            new[key] = rng.normal(0.0, 0.2, shape)
        elif key.endswith('.weight') and stem + '._mean' in state:
            new[key] = rng.uniform(0.5, 1.5, shape)
        elif key.endswith('.bias'):
            new[key] = rng.normal(0.0, 0.1, shape)
        else:
            continue
        new[key] = new[key].astype(np.float32)
    model.set_state_dict(new)


def cmd_dump(args):
    import numpy as np
    import paddle
    shape = [int(v) for v in args.input.split(',')]
    for i, arch in enumerate(args.archs):
        paddle.seed(args.seed + i)
        rng = np.random.default_rng(args.seed + i)
        model = build(arch)
        randomize(model, rng)
        model.eval()
        x = rng.normal(0.0, 1.0, shape).astype(np.float32)
        with paddle.no_grad():
            logits = model(paddle.to_tensor(x)).numpy()
        paddle.save(model.state_dict(), osp.join(args.out, arch + '.pdparams'))
        np.save(osp.join(args.out, arch + '_input.npy'), x)
        np.save(osp.join(args.out, arch + '_logits.npy'), logits)
        print(f'{arch}: logits {logits.shape}, max |logit| '
              f'{float(np.abs(logits).max()):.3f}')


def cmd_keys(args):
    import paddle
    for arch in args.archs:
        with paddle.LazyGuard():  # shapes only: no parameter is initialised
            model = build(arch)
        keys = {k: list(v.shape) for k, v in model.state_dict().items()}
        with open(osp.join(args.out, arch + '.json'), 'w') as f:
            json.dump(keys, f)
        print(f'{arch}: {len(keys)} tensors')


def main():
    if '--check' in sys.argv[1:]:
        _prepare_ppcls()
        import paddle
        for module in _MODULES:
            importlib.import_module('ppcls.arch.backbone.' + module)
        from importlib.metadata import version
        print(f'paddle {paddle.__version__}, paddleclas {version("paddleclas")}: '
              f'{len(ARCH_MODULE)} archs importable')
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest='cmd', required=True)
    dump = sub.add_parser('dump')
    dump.add_argument('archs', nargs='+')
    dump.add_argument('--out', required=True)
    dump.add_argument('--seed', type=int, default=0)
    dump.add_argument('--input', default='2,3,64,64', help='N,C,H,W')
    keys = sub.add_parser('keys')
    keys.add_argument('archs', nargs='+')
    keys.add_argument('--out', required=True)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    _prepare_ppcls()
    {'dump': cmd_dump, 'keys': cmd_keys}[args.cmd](args)


if __name__ == '__main__':
    main()
