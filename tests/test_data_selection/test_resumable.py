"""Chunk/shard helpers, atomic writes and the run manifest."""
import os

import pytest

from ssld_mm.data_selection import resumable as rs


def test_parse_shard():
    assert rs.parse_shard('0/1') == (0, 1)
    assert rs.parse_shard(' 3 / 8 ') == (3, 8)
    for bad in ('1/1', '2', 'a/b', '-1/2', '0/0'):
        with pytest.raises(ValueError, match='shard'):
            rs.parse_shard(bad)


def test_shards_partition_the_chunks():
    total = rs.num_chunks(1001, 100)
    assert total == 11
    shards = [rs.shard_chunk_ids(total, (i, 4)) for i in range(4)]
    assert sorted(sum(shards, [])) == list(range(11))
    assert shards[1] == [1, 5, 9]
    with pytest.raises(ValueError, match='chunk_size'):
        rs.num_chunks(10, 0)


def test_atomic_open_leaves_nothing_half_written(tmp_path):
    path = str(tmp_path / 'out.txt')
    rs.write_lines_atomic(path, ['old'])
    with pytest.raises(RuntimeError):
        with rs.atomic_open(path) as f:
            f.write('new, half written')
            raise RuntimeError('killed')
    assert open(path).read() == 'old\n'
    assert os.listdir(tmp_path) == ['out.txt']  # no temporary file left


def test_manifest_resume_and_mismatch(tmp_path):
    wd = str(tmp_path / 'work')
    assert rs.prepare_work_dir(wd, {'k': 3, 'pool': 'abc', 'x': (1, 2)}) is False
    assert rs.prepare_work_dir(wd, {'k': 3, 'pool': 'abc', 'x': [1, 2]}) is True
    with pytest.raises(ValueError, match=r"k: 3 -> 4"):
        rs.prepare_work_dir(wd, {'k': 4, 'pool': 'abc', 'x': [1, 2]})
    assert rs.read_manifest(wd)['k'] == 3
    open(rs.chunk_path(wd, 2, 'npz'), 'wb').close()
    open(rs.chunk_path(wd, 1, 'npz') + '.tmp.123', 'wb').close()  # killed write
    assert rs.done_chunks(wd, 4, 'npz') == [2]
