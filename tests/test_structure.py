"""Package layering (issue 12): ``ssld_mm`` is a library that works without a
checkout; applications (demo, benchmarks) live in tools/ and import ssld_mm,
never the reverse."""
import ast
import os
import os.path as osp
import shutil
import subprocess
import sys

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
