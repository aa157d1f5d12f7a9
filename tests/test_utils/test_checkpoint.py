"""Safe checkpoint loading: the allowlist, the getattr shim, refused payloads at
every entry point, the explicit trust opt-in and unreadable files."""
import os
import os.path as osp
import pickle
import runpy
import sys
from fractions import Fraction

import numpy as np
import pytest
import torch
from conftest import REPO, TINY_CLS_CONFIG, TINY_DISTILL_CONFIG, run_tool
from mmengine.config import Config
from mmengine.logging import HistoryBuffer, MessageHub
from mmengine.runner import CheckpointLoader, load_checkpoint

from ssld_mm.utils import load_local_checkpoint, setup_runtime
from ssld_mm.utils.checkpoint import (TRUST_ENV, UntrustedCheckpointError,
                                      apply_checkpoint_trust, is_trusted,
                                      trust_checkpoints)

DISTILL_CONFIG = TINY_DISTILL_CONFIG

setup_runtime()  # MMEngine's local loader is ours (conftest does it too)


class _CreateFile:
    """Unpickling this runs ``open(marker, 'w')``: the payload of the attack."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (exec, (f'open({self.marker!r}, "w").write("pwned")', ))


@pytest.fixture
def evil(tmp_path):
    """A real classifier checkpoint (tiny_cls weights) whose meta carries the
    payload; returns (checkpoint path, marker path the payload would create)."""
    from ssld_mm.registry import MODELS
    from ssld_mm.utils import register_all_modules
    register_all_modules()
    model = MODELS.build(Config.fromfile(TINY_CLS_CONFIG).model)
    marker = str(tmp_path / 'PWNED')
    path = str(tmp_path / 'evil.pth')
    torch.save(
        {
            'state_dict': model.state_dict(),
            'meta': {
                'epoch': 1,
                'x': _CreateFile(marker)
            }
        }, path)
    return path, marker


@pytest.fixture(autouse=True)
def _no_inherited_trust(monkeypatch):
    monkeypatch.delenv(TRUST_ENV, raising=False)


def _assert_refused(excinfo_or_text, path, marker):
    text = str(excinfo_or_text)
    assert path in text and 'builtins.exec' in text, text
    assert '--trust-checkpoint' in text, text
    assert not osp.exists(marker), 'the payload ran'


def test_the_payload_is_real(evil):
    """Sanity: an unrestricted load does run it (so the refusals below mean
    something)."""
    path, marker = evil
    torch.load(path, weights_only=False)
    assert open(marker).read() == 'pwned'


def test_mmengine_checkpoint_contents_load(tmp_path):
    hub = MessageHub.get_instance('f_test_hub')
    hub.update_scalar('train/loss', 0.5)
    hub.update_scalar('train/loss', np.float64(0.25))
    hub.update_info('seed', np.int64(3))
    path = str(tmp_path / 'c.pth')
    torch.save(
        {
            'state_dict': {
                'w': torch.ones(2)
            },
            'meta':
            dict(
                seed=np.int64(3),
                hist=np.array([1.0, 2.0]),
                dt=np.dtype('float16'),
                cfg='x = 1'),
            'message_hub':
            hub.state_dict()
        }, path)
    with pytest.raises(Exception, match='(?i)weights_only'):
        torch.load(path)  # torch's own default refuses MMEngine checkpoints
    ckpt = CheckpointLoader.load_checkpoint(path, map_location='cpu')
    assert ckpt['meta']['seed'] == 3 and ckpt['meta']['dt'] == np.float16
    buf = ckpt['message_hub']['log_scalars']['train/loss']
    assert isinstance(buf, HistoryBuffer)
    assert buf.mean() == pytest.approx(0.375) and buf.current() == 0.25
    model = torch.nn.Module()
    model.register_buffer('w', torch.zeros(2))
    load_checkpoint(model, path)
    assert torch.equal(model.w, torch.ones(2))


class _Getattr:

    def __init__(self, obj, name):
        self.obj, self.name = obj, name

    def __reduce__(self):
        return (getattr, (self.obj, self.name))


@pytest.mark.parametrize('obj,name,ok', [(HistoryBuffer, 'mean', True),
                                         (HistoryBuffer, 'current', True),
                                         (HistoryBuffer, 'register_statistics', False),
                                         (HistoryBuffer, '__init__', False),
                                         (np.ndarray, 'tofile', False)])
def test_getattr_shim_allows_only_history_buffer_statistics(tmp_path, obj, name, ok):
    path = str(tmp_path / 'g.pth')
    torch.save({'f': _Getattr(obj, name)}, path)
    if ok:
        assert load_local_checkpoint(path)['f'] is getattr(HistoryBuffer, name)
    else:
        with pytest.raises(UntrustedCheckpointError, match=f'getattr.*{name}'):
            load_local_checkpoint(path)


def test_refused_as_teacher_checkpoint(evil):
    from ssld_mm.registry import MODELS
    path, marker = evil
    cfg = Config.fromfile(DISTILL_CONFIG)
    cfg.model.teacher = cfg.student  # the payload file holds tiny_cls weights
    cfg.model.teacher_ckpt = path
    with pytest.raises(UntrustedCheckpointError) as e:
        MODELS.build(cfg.model)
    _assert_refused(e.value, path, marker)


def test_refused_as_backbone_init_cfg_checkpoint(evil):
    from ssld_mm.registry import MODELS
    path, marker = evil
    cfg = Config.fromfile(TINY_CLS_CONFIG).model
    cfg.backbone.init_cfg = dict(type='Pretrained', checkpoint=path, prefix='backbone.')
    model = MODELS.build(cfg)
    with pytest.raises(UntrustedCheckpointError) as e:
        model.init_weights()
    _assert_refused(e.value, path, marker)


def _run_main(script, argv, monkeypatch):
    monkeypatch.setattr(sys, 'argv', [script, *argv])
    runpy.run_path(script, run_name='__main__')


def _tool_failure(script, argv, monkeypatch, capsys):
    """Run a tool in-process, expect it to fail; its error text (the
    exception, or what the tool printed before exiting non-zero)."""
    with pytest.raises((SystemExit, Exception)) as e:
        _run_main(script, argv, monkeypatch)
    if isinstance(e.value, SystemExit):
        assert e.value.code not in (0, None)
    return f'{type(e.value).__name__}: {e.value}\n' + ''.join(capsys.readouterr())


@pytest.mark.parametrize('how', ['--resume', 'load_from'])
def test_refused_as_resume_and_load_from(evil, how, tmp_path, image_folder, monkeypatch,
                                         capsys):
    path, marker = evil
    root = f'train_dataloader.dataset.data_root={image_folder}'
    extra = (['--resume', path]
             if how == '--resume' else ['--cfg-options', f'load_from={path}'])
    if how == '--resume':
        extra += ['--cfg-options']
    argv = [
        TINY_CLS_CONFIG, '--work-dir',
        str(tmp_path / 'w'), '--no-validate', *extra, root
    ]
    text = _tool_failure(osp.join(REPO, 'tools', 'train.py'), argv, monkeypatch, capsys)
    assert 'UntrustedCheckpointError' in text
    _assert_refused(text, path, marker)


def test_refused_by_select_topk(evil, tmp_path, monkeypatch, capsys):
    path, marker = evil
    pool = tmp_path / 'pool.txt'
    pool.write_text('a.png\n')
    argv = [
        TINY_CLS_CONFIG, path, '--pool',
        str(pool), '--k', '1', '--out',
        str(tmp_path / 'sel.txt'), '--num-workers', '0', '--no-progress'
    ]
    text = _tool_failure(
        osp.join(REPO, 'tools', 'data', 'select_topk.py'), argv, monkeypatch, capsys)
    assert 'UntrustedCheckpointError' in text
    _assert_refused(text, path, marker)


def test_refused_by_extract_student(evil, tmp_path, monkeypatch, capsys):
    path, marker = evil
    dst = tmp_path / 'student.pth'
    text = _tool_failure(
        osp.join(REPO, 'tools', 'model_converters', 'extract_student.py'),
        [path, str(dst)], monkeypatch, capsys)
    assert 'UntrustedCheckpointError' in text
    _assert_refused(text, path, marker)
    assert not dst.exists()


def _distiller_ckpt_with_fraction(path):
    """A checkpoint that is harmless but holds a type outside the allowlist."""
    torch.save(
        {
            'state_dict': {
                'student.head.fc.bias': torch.arange(3.)
            },
            'meta': {
                'ratio': Fraction(1, 3)
            }
        }, path)


def test_trust_opt_in_flag_env_and_config(tmp_path, monkeypatch):
    src = str(tmp_path / 'ckpts' / 'distilled.pth')
    os.makedirs(osp.dirname(src))
    _distiller_ckpt_with_fraction(src)
    with pytest.raises(UntrustedCheckpointError, match=r'fractions\.Fraction'):
        load_local_checkpoint(src)
    # the command-line flag, end to end in a fresh process
    script = osp.join(REPO, 'tools', 'model_converters', 'extract_student.py')
    dst = str(tmp_path / 'student.pth')
    run_tool([script, src, dst, '--trust-checkpoint', src])
    assert torch.equal(
        load_local_checkpoint(dst)['state_dict']['head.fc.bias'], torch.arange(3.))
    # a trusted folder, through the environment variable
    monkeypatch.setenv(TRUST_ENV, str(tmp_path / 'ckpts'))
    with pytest.warns(UserWarning, match='weights_only=False'):
        assert load_local_checkpoint(src)['meta']['ratio'] == Fraction(1, 3)
    # the config key; trusting one file does not trust its neighbours
    monkeypatch.delenv(TRUST_ENV)
    other = str(tmp_path / 'ckpts' / 'other.pth')
    _distiller_ckpt_with_fraction(other)
    apply_checkpoint_trust(Config(dict(trusted_checkpoints=[src])))
    assert is_trusted(src) and not is_trusted(other)
    assert not is_trusted(str(tmp_path / 'ckpts'))
    with pytest.raises(UntrustedCheckpointError):
        load_local_checkpoint(other)
    with pytest.raises(TypeError, match='trusted_checkpoints'):
        apply_checkpoint_trust(Config(dict(trusted_checkpoints=3)))
    trust_checkpoints(None)  # no-op


def test_unreadable_files_name_the_file(tmp_path):
    good = str(tmp_path / 'good.pth')
    torch.save({'state_dict': {'w': torch.ones(100)}}, good)
    data = open(good, 'rb').read()
    cases = {
        'truncated.pth': data[:len(data) // 2],
        'empty.pth': b'',
        'text.pth': b'hello'
    }
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(RuntimeError, match=f'{name}.*unreadable'):
            load_local_checkpoint(str(tmp_path / name))


def test_missing_local_file_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        load_local_checkpoint(str(tmp_path / 'missing.pth'))


def test_remote_schemes_are_not_overridden():
    loader = CheckpointLoader._get_checkpoint_loader('https://example.com/x.pth')
    assert loader is not load_local_checkpoint
    local = CheckpointLoader._get_checkpoint_loader('/tmp/x.pth')
    assert local is load_local_checkpoint


def test_pdparams_keep_their_restricted_unpickler(tmp_path):
    from ssld_mm.converters.pdparams import load_pdparams
    path = tmp_path / 'evil.pdparams'
    marker = str(tmp_path / 'PWNED')
    path.write_bytes(pickle.dumps({'w': _CreateFile(marker)}, protocol=2))
    with pytest.raises(ValueError):
        load_pdparams(str(path))
    assert not osp.exists(marker)


def test_restricted_pickle_fallback_for_torch_before_2_6(evil, tmp_path, monkeypatch):
    """torch < 2.6 cannot allow (callable, name) pairs: the same allowlist is
    enforced by a restricted unpickler; exercised here by forcing that path."""
    from ssld_mm.utils import checkpoint
    monkeypatch.setattr(checkpoint, '_torch_has_callable_allowlist', lambda: False)
    hub = MessageHub.get_instance('f_fallback_hub')
    hub.update_scalar('loss', 1.5)
    good = str(tmp_path / 'good.pth')
    torch.save(
        {
            'state_dict': {
                'w': torch.arange(4.)
            },
            'meta': {
                's': np.int64(2)
            },
            'message_hub': hub.state_dict()
        }, good)
    for legacy in (False, True):
        torch.save(
            torch.load(good, weights_only=False),
            good,
            _use_new_zipfile_serialization=not legacy)
        ckpt = load_local_checkpoint(good)
        assert torch.equal(ckpt['state_dict']['w'], torch.arange(4.))
        assert ckpt['message_hub']['log_scalars']['loss'].current() == 1.5
    path, marker = evil
    with pytest.raises(UntrustedCheckpointError) as e:
        load_local_checkpoint(path)
    _assert_refused(e.value, path, marker)
    bad = str(tmp_path / 'g.pth')
    torch.save({'f': _Getattr(HistoryBuffer, 'register_statistics')}, bad)
    with pytest.raises(UntrustedCheckpointError, match='register_statistics'):
        load_local_checkpoint(bad)


def test_find_resumable_checkpoint_warns_on_empty_work_dir(tmp_path, capsys):
    from mmengine.logging import MMLogger

    from ssld_mm.utils.checkpoint import find_resumable_checkpoint
    MMLogger.get_instance('f_resume_test')
    assert find_resumable_checkpoint(str(tmp_path)) is None
    assert find_resumable_checkpoint(str(tmp_path / 'never_created')) is None
    out = capsys.readouterr().out
    assert out.count('no checkpoint found') == 2 and 'starting a fresh run' in out
    # newest complete one wins; a truncated newer one and best_* are skipped
    for step in (1, 2, 3):
        torch.save({'state_dict': {
            'w': torch.full((50, ), step)
        }}, str(tmp_path / f'epoch_{step}.pth'))
    torch.save({}, str(tmp_path / 'best_accuracy_epoch_9.pth'))
    (tmp_path / 'epoch_3.pth').write_bytes((tmp_path / 'epoch_3.pth').read_bytes()[:99])
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'epoch_1.pth'))
    assert find_resumable_checkpoint(str(tmp_path)) == str(tmp_path / 'epoch_2.pth')
    out = capsys.readouterr().out
    assert 'skipping' in out and 'epoch_3.pth' in out


def test_a_half_written_last_checkpoint_is_not_trusted(tmp_path, capsys):
    """MMEngine writes last_checkpoint with a plain open(): a kill can leave it
    empty or cut. The scan still finds the newest complete checkpoint."""
    from mmengine.logging import MMLogger

    from ssld_mm.utils.checkpoint import find_resumable_checkpoint
    MMLogger.get_instance('f_pointer_test')
    for step in (1, 2):
        torch.save({'state_dict': {
            'w': torch.full((5, ), step)
        }}, str(tmp_path / f'iter_{step}.pth'))
    for content in ('', str(tmp_path / 'iter_'), str(tmp_path / 'iter_3.pth')):
        (tmp_path / 'last_checkpoint').write_text(content)
        assert find_resumable_checkpoint(str(tmp_path)) == str(tmp_path / 'iter_2.pth')
        out = capsys.readouterr().out
        assert 'which is not a file' in out, (content, out)
