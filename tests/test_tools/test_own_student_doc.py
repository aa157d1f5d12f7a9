"""docs/own_student.md run verbatim in an empty folder (issue 16, item 2): an
``ssld_mm::`` base, a user module found by custom_imports without PYTHONPATH,
train / test / extract on a tiny local dataset; the README's snippets are the
same text."""
import os
import os.path as osp
import re
import subprocess
import sys

from conftest import REPO

DOC = osp.join(REPO, 'docs', 'own_student.md')


def code_blocks(path):
    """``[(language, text)]`` of the fenced blocks of a markdown file."""
    with open(path, encoding='utf-8') as f:
        text = f.read()
    return [(m.group(1), m.group(2))
            for m in re.finditer(r'^```(\w*)\n(.*?)^```\n', text, re.M | re.S)]


def test_blocks_are_found():
    kinds = [lang for lang, _ in code_blocks(DOC)]
    assert kinds == ['python', 'python', 'python', 'python', 'bash', '']


def run(cmd, cwd, check=True):
    env = dict(os.environ, SSLD_MM=REPO, OMP_NUM_THREADS='1')
    env.pop('PYTHONPATH', None)  # the user's folder is not on any path
    proc = subprocess.run(
        cmd,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        shell=isinstance(cmd, str),
        executable='/bin/bash' if isinstance(cmd, str) else None)
    if check and proc.returncode != 0:
        raise AssertionError(f'{cmd} exited {proc.returncode}\n'
                             f'{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}')
    return proc


def test_own_student_doc_runs_verbatim(tmp_path):
    blocks = code_blocks(DOC)
    for lang, text in blocks:
        if lang == 'python':  # "# name.py..." on the first line: a file
            name = re.match(r'# (\w+\.py)', text).group(1)
            (tmp_path / name).write_text(text)
    # the documented error, before the teacher exists
    (_, error), = [b for b in blocks if b[0] == '']
    proc = run([
        sys.executable,
        osp.join(REPO, 'tools', 'train.py'), 'my_distill.py', '--work-dir',
        'work_dirs/my_distill'
    ],
               str(tmp_path),
               check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == error.strip()
    # the commands, with `python` being this interpreter
    (_, commands), = [b for b in blocks if b[0] == 'bash']
    commands = commands.replace('python ', f'{sys.executable} ')
    proc = run('set -e\n' + commands, str(tmp_path))
    out = proc.stdout
    assert 'written to ' in out  # the dump went to the log file
    assert re.search(r'accuracy/top1: [\d.]+', out)
    ckpt = tmp_path / 'checkpoints' / 'my_tiny_net_ssld.pth'
    import torch
    state = torch.load(ckpt, map_location='cpu', weights_only=True)['state_dict']
    assert 'backbone.body.0.weight' in state  # MyTinyNet, registered by the user
    assert state['head.fc.weight'].shape == (1000, 32)


def test_readme_snippets_are_the_doc_text():
    """The README's "Register your own student" blocks are copies of the
    doc's (which the test above runs)."""
    with open(osp.join(REPO, 'README.md'), encoding='utf-8') as f:
        readme = f.read()
    section = readme.split('### Register your own student', 1)[1].split('\n## ', 1)[0]
    doc = dict((re.match(r'# (\w+\.py)', t).group(1), t) for lang, t in code_blocks(DOC)
               if lang == 'python')
    found = re.findall(r'^```python\n(.*?)^```\n', section, re.M | re.S)
    assert found == [doc['my_student.py'], doc['my_distill.py']]
