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


def test_shard_run_validates_and_books_the_chunks_of_a_shard():
    logs = []
    run = rs.ShardRun(shard=(1, 4), num_workers=0, log=logs.append)
    assert run.name == '1/4'
    pending, stats = run.pending(10, done=[1, 2], unit='chunks')
    assert pending == [5, 9]
    assert stats == dict(chunks_skipped=1, chunks_run=0, images=0, seconds=0.0)
    assert logs == ['shard 1/4: 3 chunks, 1 already done, 2 to run']
    assert run.others_running(10, list(range(7)), 'chunks are left') is True
    assert logs[-1] == '3 of 10 chunks are left'
    assert run.others_running(10, list(range(10)), 'chunks are left') is False
    assert len(logs) == 2
    for bad in ((2, 2), [0, 1], (0, )):
        with pytest.raises(ValueError, match='shard must be'):
            rs.ShardRun(shard=bad)
    with pytest.raises(ValueError, match='num_workers must be an integer >= 0'):
        rs.ShardRun(num_workers=-1)


def test_from_mapping_takes_exactly_the_fields():

    def tool(
            shard=(0, 2),
            num_workers=3,
            device='cpu',
            progress=False,
            on_chunk_done=None,
            log=print,
            unrelated=1):
        return rs.ShardRun.from_mapping(locals())

    run = tool()
    assert (run.shard, run.num_workers, run.device, run.progress) == \
        ((0, 2), 3, 'cpu', False)
    with pytest.raises(TypeError, match=r"lacks \['device'\]"):
        rs.ShardRun.from_mapping(
            dict(
                shard=(0, 1),
                num_workers=0,
                progress=True,
                on_chunk_done=None,
                log=print))
