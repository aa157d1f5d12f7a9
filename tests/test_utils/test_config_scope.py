"""``_base_ = ['ssld_mm::ssld/r50vd_mbv3.py']`` from a user's folder, with the
checkout / editable install and with a wheel installed elsewhere (issue 16,
item 2)."""
import os
import os.path as osp
import shutil
import subprocess
import sys

from conftest import REPO
from mmengine.config import Config

from ssld_mm.utils import setup_runtime
from ssld_mm.utils.config_scope import configs_root

USER_CONFIG = ("_base_ = ['ssld_mm::ssld/r50vd_mbv3.py']\n"
               'train_cfg = dict(max_epochs=1)\n')

CHECK = '''
import os.path as osp, sys
import ssld_mm
from mmengine.config import Config
from ssld_mm.utils import setup_runtime
setup_runtime()  # what a program that loads ssld_mm:: configs calls first
from ssld_mm.utils.config_scope import configs_root
cfg = Config.fromfile('my.py')
assert cfg.model.type == 'SSLDDistiller', cfg.model.type
assert cfg.train_cfg.max_epochs == 1 and cfg.train_cfg.val_interval == 5
assert osp.isfile(cfg.model.teacher), cfg.model.teacher
print('PACKAGE', osp.dirname(ssld_mm.__file__))
print('CONFIGS', configs_root(), osp.islink(configs_root()))
print('TEACHER', osp.realpath(cfg.model.teacher))
'''


def test_checkout_resolves_ssld_mm_scope(tmp_path, monkeypatch):
    (tmp_path / 'my.py').write_text(USER_CONFIG)
    monkeypatch.chdir(tmp_path)  # not the checkout: no relative configs/
    setup_runtime()  # idempotent (conftest did it already)
    cfg = Config.fromfile('my.py')
    assert cfg.model.type == 'SSLDDistiller'
    assert cfg.train_cfg == dict(by_epoch=True, max_epochs=1, val_interval=5)
    # the checkout's configs/ through the committed symlink
    assert osp.realpath(configs_root()) == osp.join(REPO, 'configs')
    assert osp.realpath(cfg.model.teacher) == osp.join(REPO, 'configs', '_base_',
                                                       'models', 'paddleclas',
                                                       'resnet50_vd.py')
    # a wrong name says which file it looked for
    (tmp_path / 'bad.py').write_text("_base_ = ['ssld_mm::ssld/nope.py']\n")
    try:
        Config.fromfile('bad.py')
    except FileNotFoundError as e:
        assert osp.join('.mim', 'configs', 'ssld', 'nope.py') in str(e)
    else:
        raise AssertionError('no error for a missing ssld_mm:: config')


def test_wheel_install_resolves_ssld_mm_scope(tmp_path):
    src = tmp_path / 'src'
    src.mkdir()
    for name in ('setup.py', 'README.md', 'MANIFEST.in'):
        shutil.copy(osp.join(REPO, name), src / name)
    for name in ('requirements', 'configs'):
        shutil.copytree(osp.join(REPO, name), src / name)
    shutil.copytree(
        osp.join(REPO, 'ssld_mm'),
        src / 'ssld_mm',
        symlinks=True,
        ignore=shutil.ignore_patterns('__pycache__'))
    assert osp.islink(src / 'ssld_mm' / '.mim' / 'configs')
    pip = [sys.executable, '-m', 'pip', '--disable-pip-version-check']
    subprocess.run([
        *pip, 'wheel', '-q', '--no-deps', '--no-build-isolation', '--no-index', '-w',
        str(tmp_path / 'wheel'),
        str(src)
    ],
                   check=True,
                   capture_output=True,
                   cwd=str(tmp_path))
    wheel, = os.listdir(tmp_path / 'wheel')
    site = tmp_path / 'site'
    subprocess.run([
        *pip, 'install', '-q', '--no-deps', '--no-index', '--target',
        str(site),
        str(tmp_path / 'wheel' / wheel)
    ],
                   check=True,
                   capture_output=True)
    user = tmp_path / 'user'
    user.mkdir()
    (user / 'my.py').write_text(USER_CONFIG)
    env = dict(os.environ, PYTHONPATH=str(site))  # before the editable install
    proc = subprocess.run([sys.executable, '-c', CHECK],
                          cwd=str(user),
                          env=env,
                          capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = dict(line.split(' ', 1) for line in proc.stdout.splitlines())
    assert lines['PACKAGE'] == str(site / 'ssld_mm')
    # a real copy inside the installed package, not a link to the checkout
    assert lines['CONFIGS'] == f"{site / 'ssld_mm' / '.mim' / 'configs'} False"
    assert lines['TEACHER'].startswith(str(site / 'ssld_mm' / '.mim' / 'configs'))
