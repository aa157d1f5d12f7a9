"""Atomic local writes: MMEngine's local backend is ours after setup_runtime()."""
import os

import pytest
import torch
from mmengine.fileio import get_file_backend
from mmengine.runner import save_checkpoint

from ssld_mm.utils import setup_runtime
from ssld_mm.utils.atomic_local_backend import (AtomicLocalBackend, atomic_write_bytes,
                                                is_temp_file, temp_path_for)

setup_runtime()  # registers the backend (conftest does it too)


def test_mmengine_local_backend_is_atomic(tmp_path):
    assert isinstance(get_file_backend(str(tmp_path / 'x.pth')), AtomicLocalBackend)
    path = str(tmp_path / 'sub' / 'epoch_1.pth')
    save_checkpoint({'state_dict': {'w': torch.arange(3.)}}, path)
    assert torch.equal(torch.load(path)['state_dict']['w'], torch.arange(3.))
    assert os.listdir(tmp_path / 'sub') == ['epoch_1.pth']
    backend = get_file_backend(path)
    backend.put_text('hello', str(tmp_path / 't.txt'))
    assert (tmp_path / 't.txt').read_text() == 'hello'


def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path, monkeypatch):
    path = str(tmp_path / 'epoch_1.pth')
    atomic_write_bytes(b'old content', path)

    def broken_fsync(fd):
        raise OSError(28, 'No space left on device')

    monkeypatch.setattr(os, 'fsync', broken_fsync)
    with pytest.raises(OSError, match='No space'):
        atomic_write_bytes(b'new', path)
    assert open(path, 'rb').read() == b'old content'
    assert os.listdir(tmp_path) == ['epoch_1.pth']


def test_temp_file_names():
    tmp = temp_path_for('/a/b/epoch_2.pth')
    assert os.path.dirname(tmp) == '/a/b' and is_temp_file(tmp)
    assert not is_temp_file('/a/b/epoch_2.pth')
