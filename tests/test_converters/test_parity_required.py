"""`make test` (and so CI) fails when the Paddle parity env is missing;
a plain `pytest` skips (tests/conftest.py: skip_unless_required)."""
import os
import subprocess
import sys

import pytest
from conftest import REPO, skip_unless_required

TEST = ('tests/test_converters/test_paddle_parity.py::'
        'test_committed_key_fixtures_match_paddleclas')


def run_parity_test(require: str) -> subprocess.CompletedProcess:
    env = dict(
        os.environ,
        SSLD_MM_PADDLE_PYTHON='/nonexistent/bin/python',
        SSLD_MM_REQUIRE_PARITY=require)
    return subprocess.run(
        [sys.executable, '-m', 'pytest', TEST, '-q', '-rs', '-p', 'no:cacheprovider'],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300)


def test_missing_parity_env_fails_when_required():
    proc = run_parity_test('1')
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, (
        f'expected a failure, pytest exited {proc.returncode}\n' + out[-3000:])
    assert '1 error' in out
    assert 'Paddle parity env absent (/nonexistent/bin/python)' in out
    assert 'SSLD_MM_REQUIRE_PARITY=1 makes this a failure' in out


@pytest.mark.parametrize('value, outcome', [(None, pytest.skip.Exception),
                                            ('', pytest.skip.Exception),
                                            ('0', pytest.skip.Exception),
                                            ('1', pytest.fail.Exception),
                                            ('yes', pytest.fail.Exception)])
def test_skip_unless_required(value, outcome, monkeypatch):
    if value is None:
        monkeypatch.delenv('SSLD_MM_TEST_REQUIRE', raising=False)
    else:
        monkeypatch.setenv('SSLD_MM_TEST_REQUIRE', value)
    with pytest.raises(outcome, match='env absent'):
        skip_unless_required('env absent', 'SSLD_MM_TEST_REQUIRE')


def test_make_test_requires_the_parity_env():
    proc = subprocess.run(['make', '-n', '-C', REPO, 'test'],
                          capture_output=True,
                          text=True,
                          check=True,
                          env=dict(os.environ, MAKEFLAGS=''))
    pytest_line = [line for line in proc.stdout.splitlines() if '-m pytest' in line]
    assert pytest_line == [
        'SSLD_MM_REQUIRE_PARITY=${SSLD_MM_REQUIRE_PARITY:-1} '
        '.venv/bin/python -m pytest tests'
    ], 'make -n test does not require the parity env:\n' + proc.stdout
