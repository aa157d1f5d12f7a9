"""The torch>=2.6 weights_only fix for MMEngine checkpoints."""
import numpy as np
import pytest
import torch
from mmengine.runner import CheckpointLoader, load_checkpoint

import ssld_mm  # noqa: F401  (applies the fix)
from ssld_mm.utils import load_local_checkpoint


def _mmengine_like_ckpt(path):
    # numpy objects in meta are what breaks weights_only=True loading
    ckpt = dict(state_dict={'w': torch.ones(2)},
                meta=dict(seed=np.int64(3), hist=np.array([1.0, 2.0])))
    torch.save(ckpt, path)
    return path


def test_plain_torch_load_fails_but_mmengine_loader_works(tmp_path):
    path = _mmengine_like_ckpt(str(tmp_path / 'c.pth'))
    with pytest.raises(Exception, match='(?i)weights_only'):
        torch.load(path)
    ckpt = CheckpointLoader.load_checkpoint(path, map_location='cpu')
    assert ckpt['meta']['seed'] == 3
    model = torch.nn.Module()
    model.register_buffer('w', torch.zeros(2))
    load_checkpoint(model, path)
    assert torch.equal(model.w, torch.ones(2))


def test_missing_local_file_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        load_local_checkpoint(str(tmp_path / 'missing.pth'))


def test_remote_schemes_are_not_overridden():
    loader = CheckpointLoader._get_checkpoint_loader('https://example.com/x.pth')
    assert loader is not load_local_checkpoint
    assert CheckpointLoader._get_checkpoint_loader('/tmp/x.pth') is load_local_checkpoint
