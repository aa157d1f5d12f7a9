"""Package layering (issue 12): ``ssld_mm`` is a library that works without a
checkout; applications (demo, benchmarks) live in tools/ and import ssld_mm,
never the reverse; importing it changes nothing process-wide until
``ssld_mm.utils.setup_runtime()`` is called (item 6)."""
import ast
import os
import os.path as osp
import shutil
import subprocess
import sys

import pytest
from conftest import REPO

PKG = osp.join(REPO, 'ssld_mm')


def _py_files(root):
    for folder, _, files in os.walk(root):
        for name in files:
            if name.endswith('.py'):
                yield osp.join(folder, name)


def _imported_modules(path):
    tree = ast.parse(open(path, encoding='utf-8').read(), path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.module


def test_package_never_imports_tools_or_demo_modules():
    tool_modules = {
        osp.splitext(name)[0]
        for folder in ('demo', 'benchmark', 'data', 'model_converters')
        for name in os.listdir(osp.join(REPO, 'tools', folder)) if name.endswith('.py')
    } | {'tools', 'conftest'}
    bad = []
    for path in _py_files(PKG):
        for mod in _imported_modules(path):
            if mod.split('.')[0] in tool_modules:
                bad.append(f'{osp.relpath(path, REPO)} imports {mod}')
    assert not bad, bad
    assert not osp.exists(osp.join(PKG, 'demo'))


def test_package_does_not_locate_the_checkout():
    # no __file__-relative paths to configs/ or tools/, no sys.path edits
    bad = []
    for path in _py_files(PKG):
        text = open(path, encoding='utf-8').read()
        for needle in ('__file__', 'sys.path', 'PYTHONPATH'):
            if needle in text:
                bad.append(f'{osp.relpath(path, REPO)}: {needle}')
    assert not bad, bad


def test_runtime_requirements_exclude_demo_only_packages():
    with open(osp.join(REPO, 'requirements', 'runtime.txt')) as f:
        runtime = {line.split('#')[0].strip() for line in f} - {''}
    assert 'matplotlib' not in runtime
    with open(osp.join(REPO, 'requirements', 'demo.txt')) as f:
        assert 'matplotlib' in f.read().split()


def test_package_copied_out_of_the_checkout_imports_and_registers(tmp_path):
    """Every module of a copy of ssld_mm/ (what a wheel holds) imports with no
    checkout on the path, and registration finds the registered modules."""
    shutil.copytree(
        PKG, tmp_path / 'ssld_mm', ignore=shutil.ignore_patterns('__pycache__'))
    code = ('import importlib, pkgutil, ssld_mm\n'
            f'assert ssld_mm.__file__.startswith({str(tmp_path)!r}), ssld_mm.__file__\n'
            'for m in pkgutil.walk_packages(ssld_mm.__path__, "ssld_mm."):\n'
            '    importlib.import_module(m.name)\n'
            'from ssld_mm.utils import register_all_modules\n'
            'register_all_modules(init_default_scope=False)\n'
            'from ssld_mm.registry import MODELS\n'
            'assert MODELS.get("SSLDDistiller") is not None\n'
            'print("ok")\n')
    env = dict(os.environ, PYTHONPATH=str(tmp_path), OMP_NUM_THREADS='1')
    proc = subprocess.run([sys.executable, '-c', code],
                          cwd=str(tmp_path),
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert proc.stdout.strip().endswith('ok')


# Run in a fresh interpreter: records the process-wide state ssld_mm could
# change, imports every module of ssld_mm, checks that nothing changed, then
# runs one entry point and checks that MMEngine's checkpoint I/O and config
# scope are now ssld_mm's (issue 12, item 6).
PROCESS_STATE = r'''
import importlib, logging, multiprocessing, os, pkgutil, signal, sys, threading
import types, warnings

import cv2, numpy as np, torch, torchvision  # noqa: E401
import mmcv, mmcv.cnn, mmcv.transforms  # noqa: E401
import mmengine.config.config as config_module
import mmengine.config.utils as config_utils
import mmengine.dataset, mmengine.evaluator, mmengine.hooks  # noqa: E401
import mmengine.model, mmengine.optim, mmengine.visualization  # noqa: E401
import mmengine.runner._flexible_runner as flexible_module
import mmengine.runner.runner as runner_module
from mmengine.fileio import get_file_backend
from mmengine.fileio.backends import registry_utils
from mmengine.logging import MessageHub, MMLogger
from mmengine.registry import DefaultScope
from mmengine.runner import CheckpointLoader
import mmpretrain.apis, mmpretrain.datasets, mmpretrain.engine  # noqa: E401
import mmpretrain.evaluation, mmpretrain.models, mmpretrain.utils  # noqa: E401
try:
    import mmdet.datasets, mmdet.evaluation, mmdet.models  # noqa: E401
except ImportError:
    pass

ENTRY = sys.argv[1]
# not compared: ours, this script, and modules that fill their own attributes
# lazily on first use (importlib_metadata's compat shims)
LAZY = ('ssld_mm', '__main__', 'importlib_metadata')
SIGNALS = [s for s in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD,
                       signal.SIGUSR1, signal.SIGPIPE)]


def mmengine_state():
    """What ssld_mm's setup_runtime() changes, by name."""
    return {
        'CheckpointLoader._schemes[""]': CheckpointLoader._schemes.get(''),
        'fileio backends["local"]': registry_utils.backends.get('local'),
        'fileio prefix_to_backends[""]': registry_utils.prefix_to_backends.get(''),
        'MODULE2PACKAGE': dict(config_utils.MODULE2PACKAGE),
        'runner.find_latest_checkpoint': runner_module.find_latest_checkpoint,
        '_flexible_runner.find_latest_checkpoint':
        flexible_module.find_latest_checkpoint,
        'config.get_installed_path': config_module.get_installed_path,
    }


def process_state():
    """Everything else an import could change for the whole process."""
    state = {
        'warnings.filters': list(warnings.filters),
        'os.environ': dict(os.environ),
        'sys.path': list(sys.path),
        'sys.meta_path': list(sys.meta_path),
        'sys.path_hooks': list(sys.path_hooks),
        'sys.excepthook': sys.excepthook,
        'sys.displayhook': sys.displayhook,
        'threading.excepthook': threading.excepthook,
        'signals': [signal.getsignal(s) for s in SIGNALS],
        'cwd': os.getcwd(),
        'umask': os.umask(os.umask(0o22)),
        'torch.num_threads': torch.get_num_threads(),
        'torch.default_dtype': torch.get_default_dtype(),
        'torch.deterministic': torch.are_deterministic_algorithms_enabled(),
        'torch.grad_enabled': torch.is_grad_enabled(),
        'torch.matmul_precision': torch.get_float32_matmul_precision(),
        'cudnn': (torch.backends.cudnn.enabled, torch.backends.cudnn.benchmark,
                  torch.backends.cudnn.deterministic),
        'torch.sharing_strategy': torch.multiprocessing.get_sharing_strategy(),
        'mp.start_method': multiprocessing.get_start_method(allow_none=True),
        'cv2.num_threads': cv2.getNumThreads(),
        'cv2.ocl': cv2.ocl.useOpenCL(),
        'np.seterr': np.geterr(),
        'np.printoptions': np.get_printoptions(),
        'logging.root': (logging.root.level, list(logging.root.handlers)),
        'logging.disable': logging.root.manager.disable,
        'logging.loggerClass': logging.getLoggerClass(),
        'DefaultScope': sorted(DefaultScope._instance_dict),
        'MessageHub': sorted(MessageHub._instance_dict),
        'MMLogger': sorted(MMLogger._instance_dict),
    }
    # monkeypatching: no attribute of a module loaded before is rebound
    for name, module in list(sys.modules.items()):
        if name.split('.')[0] not in LAZY and isinstance(module, types.ModuleType):
            state[f'module {name}'] = dict(vars(module))
    return state


def changed(before, after):
    out = []
    for key, old in before.items():
        new = after.get(key, {} if key.startswith('module ') else None)
        if key.startswith('module '):
            out += [f'{key[7:]}.{attr}' for attr, value in old.items()
                    if attr in new and new[attr] is not value]
        elif new != old:
            out.append(key)
    return out


before_mm, before = mmengine_state(), process_state()
import ssld_mm  # noqa: E402
names = [m.name for m in pkgutil.walk_packages(ssld_mm.__path__, 'ssld_mm.')]
for name in names:
    importlib.import_module(name)
assert len(names) > 50 and 'ssld_mm.data_selection.teacher' in names, names
after_mm, after = mmengine_state(), process_state()
assert not changed(before_mm, after_mm), f'import: {changed(before_mm, after_mm)}'
assert not changed(before, after), f'import changed {changed(before, after)}'

from ssld_mm.utils.atomic_local_backend import AtomicLocalBackend  # noqa: E402
from ssld_mm.utils.checkpoint import (find_resumable_checkpoint,  # noqa: E402
                                      load_local_checkpoint)
from ssld_mm.utils.config_scope import package_dir  # noqa: E402

if ENTRY == 'setup_runtime':
    from ssld_mm.utils import setup_runtime
    setup_runtime()
elif ENTRY == 'register_all_modules':
    from ssld_mm.utils import register_all_modules
    register_all_modules(init_default_scope=False)
elif ENTRY == 'cli.load_config':
    from ssld_mm.utils import cli
    with open('user.py', 'w') as f:
        f.write("_base_ = ['ssld_mm::ssld/r50vd_mbv3.py']\n")
    assert cli.load_config('user.py').model.type == 'SSLDDistiller'
elif ENTRY == 'SSLDRunner':
    from mmengine.model import BaseModel
    from ssld_mm.engine.runner import SSLDRunner

    class Tiny(BaseModel):
        def forward(self, *args, **kwargs):
            return {}

    SSLDRunner(model=Tiny(), work_dir='work_dir')
else:
    raise ValueError(ENTRY)

done = mmengine_state()
if ENTRY == 'setup_runtime':  # it changes what it says and nothing else
    rebound = set(changed(before, process_state()))
    assert rebound == {
        'mmengine.runner.runner.find_latest_checkpoint',
        'mmengine.runner._flexible_runner.find_latest_checkpoint',
        'mmengine.config.config.get_installed_path'
    }, rebound
    setup_runtime()  # idempotent
    again = mmengine_state()
    assert not changed(done, again), f'second call changed {changed(done, again)}'
expected = {
    'CheckpointLoader._schemes[""]': load_local_checkpoint,
    'fileio backends["local"]': AtomicLocalBackend,
    'fileio prefix_to_backends[""]': AtomicLocalBackend,
    'runner.find_latest_checkpoint': find_resumable_checkpoint,
    '_flexible_runner.find_latest_checkpoint': find_resumable_checkpoint,
}
for key, value in expected.items():
    assert done[key] is value, f'{ENTRY}: {key} is {done[key]!r}, not {value!r}'
assert isinstance(get_file_backend('work_dir/epoch_1.pth'), AtomicLocalBackend)
assert done['MODULE2PACKAGE'] == dict(before_mm['MODULE2PACKAGE'], ssld_mm='ssld_mm')
assert config_module.get_installed_path('ssld_mm') == package_dir()
assert config_module.get_installed_path('mmpretrain') == \
    before_mm['config.get_installed_path']('mmpretrain')
print('OK', ENTRY)
'''


@pytest.mark.parametrize(
    'entry', ['setup_runtime', 'register_all_modules', 'cli.load_config', 'SSLDRunner'])
def test_import_changes_nothing_process_wide_until_an_entry_point(entry, tmp_path):
    """``import ssld_mm`` and every submodule leave MMEngine, torch, OpenCV,
    warnings, logging, the environment and every other module as they were;
    ``setup_runtime()`` -- directly or through ``register_all_modules()``, the
    tools' ``cli.load_config`` or ``SSLDRunner`` -- then makes MMEngine's local
    checkpoint loader, file backend, resume lookup and config scope ssld_mm's."""
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1')
    proc = subprocess.run([sys.executable, '-c', PROCESS_STATE, entry],
                          cwd=str(tmp_path),
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-6000:]
    assert f'OK {entry}' in proc.stdout
