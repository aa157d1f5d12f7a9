"""shard_and_device: the shard and device of the sharded data tools."""
import pytest

from ssld_mm.data_selection import shard_and_device


def test_shard_option_and_default():
    assert shard_and_device('2/5', 'none', 'cpu') == ((2, 5), 'cpu')
    assert shard_and_device(None, 'none', None) == ((0, 1), None)


def test_launcher_environment(monkeypatch):
    for k, v in dict(RANK='3', WORLD_SIZE='4', LOCAL_RANK='1').items():
        monkeypatch.setenv(k, v)
    monkeypatch.setattr('torch.cuda.is_available', lambda: True)
    assert shard_and_device(None, 'pytorch', None) == ((3, 4), 'cuda:1')
    assert shard_and_device(None, 'pytorch', 'cpu') == ((3, 4), 'cpu')
    monkeypatch.setattr('torch.cuda.is_available', lambda: False)
    assert shard_and_device(None, 'pytorch', None) == ((3, 4), None)


def test_shard_and_launcher_exclusive():
    with pytest.raises(SystemExit, match='either --shard or --launcher'):
        shard_and_device('0/2', 'pytorch', None)
