"""Resolved configs do not change when config files are restructured.

``tests/data/config_snapshots.json`` holds every resolved config of
configs/ssld, configs/paddleclas, configs/fixres and configs/transfer as they
were before the inheritance restructuring (issue 12, item 2). A refactor of the
files must give the same resolved configs; a deliberate change of a recipe
updates the snapshot:

    .venv/bin/python tests/test_configs/test_config_snapshots.py --update

Three differences are not changes and are normalised before comparing:

* keys a config inherits unchanged from ``configs/_base_/default_runtime.py``
  are compared with that file as it is now, and keys added to it since are
  left out (runtime defaults have their own owners and tests);
* a teacher given as a config path (``model.teacher='configs/...py'``) is
  compared with the snapshot's teacher by what it builds: the same parameters
  and the same logits from the same weights;
* composition helpers (``distiller`` of configs/ssld/_base_/ssld_stage1.py),
  top-level variables the Runner never reads, like a schedule base's
  ``max_epochs``, are dropped.
"""
import argparse
import glob
import json
import os
import os.path as osp
import sys

import pytest
import torch
from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SNAPSHOT = osp.join(REPO, 'tests', 'data', 'config_snapshots.json')
FOLDERS = ('ssld', 'paddleclas', 'fixres', 'transfer')
RUNTIME = osp.join('configs', '_base_', 'default_runtime.py')
TUPLE = '__tuple__'
HELPER_KEYS = ('distiller', )


def config_paths(root=REPO):
    """Repo-relative paths of the snapshotted configs."""
    paths = []
    for folder in FOLDERS:
        paths += glob.glob(osp.join(root, 'configs', folder, '*.py'))
    return sorted(osp.relpath(p, root) for p in paths)


def canonical(obj):
    """JSON-able form that keeps tuples apart from lists."""
    if isinstance(obj, dict):
        return {str(k): canonical(v) for k, v in sorted(obj.items())}
    if isinstance(obj, tuple):
        return {TUPLE: [canonical(v) for v in obj]}
    if isinstance(obj, list):
        return [canonical(v) for v in obj]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f'unexpected value in a config: {obj!r}')


def uncanonical(obj):
    if isinstance(obj, dict):
        if set(obj) == {TUPLE}:
            return tuple(uncanonical(v) for v in obj[TUPLE])
        return {k: uncanonical(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [uncanonical(v) for v in obj]
    return obj


def resolve(path, root=REPO):
    """A config file's resolved content, canonical."""
    return canonical(Config.fromfile(osp.join(root, path)).to_dict())


def build_snapshot(root=REPO):
    return {
        'runtime': resolve(RUNTIME, root),
        'configs': {
            p: resolve(p, root)
            for p in config_paths(root)
        }
    }


def _diff(a, b, where=''):
    """Paths where two canonical values differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                out.append(f'{where}.{k}: only in '
                           f"{'snapshot' if k in a else 'current'}")
            else:
                out += _diff(a[k], b[k], f'{where}.{k}')
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [
            d for i, (x, y) in enumerate(zip(a, b))
            for d in _diff(x, y, f'{where}[{i}]')
        ]
    return [] if a == b else [f'{where}: {a!r} -> {b!r}']


def _build(model_cfg):
    from ssld_mm.registry import MODELS
    from ssld_mm.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    return MODELS.build(uncanonical(model_cfg)).eval()


_SAME = {}


def same_teacher(snap_teacher, current_teacher):
    """Whether two teacher configs build the same network: the same parameter
    names and shapes, and the same logits once given the same weights."""
    if snap_teacher == current_teacher:
        return True
    key = json.dumps([snap_teacher, current_teacher], sort_keys=True)
    if key not in _SAME:
        _SAME[key] = _same_network(snap_teacher, current_teacher)
    return _SAME[key]


def _same_network(snap_teacher, current_teacher):
    torch.manual_seed(0)
    a, b = _build(snap_teacher), _build(current_teacher)
    state = a.state_dict()
    if {k: v.shape for k, v in state.items()} != \
            {k: v.shape for k, v in b.state_dict().items()}:
        return False
    b.load_state_dict(state, strict=True)
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        return torch.equal(a(x, mode='tensor'), b(x, mode='tensor'))


def normalised_current(path, snap, snap_runtime, runtime):
    """The current resolved config, with the two normalisations above."""
    from ssld_mm.models.distillers.ssld_distiller import _model_cfg_from
    cur = resolve(path)
    for key in HELPER_KEYS:
        if key not in snap:
            cur.pop(key, None)
    for key, value in snap.items():
        if key in snap_runtime and value == snap_runtime[key] and key in cur:
            # inherited from default_runtime then: compare with it as it is now
            if cur[key] == runtime.get(key):
                cur[key] = value
    for key in [k for k in cur if k not in snap and k not in snap_runtime]:
        if cur[key] == runtime.get(key):
            del cur[key]  # added to default_runtime after the snapshot
    teacher = cur.get('model', {}).get('teacher')
    if isinstance(teacher, str):
        cur['model']['teacher'] = canonical(_model_cfg_from(teacher))
    return cur


@pytest.fixture(scope='module')
def snapshot():
    with open(SNAPSHOT, encoding='utf-8') as f:
        return json.load(f)


def test_every_config_is_in_the_snapshot(snapshot):
    missing = sorted(set(config_paths()) - set(snapshot['configs']))
    assert not missing, (f'{missing} are not in {SNAPSHOT}; run '
                         'tests/test_configs/test_config_snapshots.py --update')


@pytest.mark.parametrize('path', config_paths())
def test_resolved_config_matches_snapshot(path, snapshot, monkeypatch):
    if path not in snapshot['configs']:
        pytest.skip('new config (reported by test_every_config_is_in_the_snapshot)')
    monkeypatch.chdir(REPO)  # teacher config paths are relative to the repo
    snap = snapshot['configs'][path]
    runtime = resolve(RUNTIME)
    cur = normalised_current(path, snap, snapshot['runtime'], runtime)
    snap_teacher = snap.get('model', {}).get('teacher')
    cur_teacher = cur.get('model', {}).get('teacher')
    if snap_teacher is not None and cur_teacher is not None:
        assert same_teacher(snap_teacher, cur_teacher), (
            f'{path}: the teacher builds a different network than before')
        cur['model']['teacher'] = snap_teacher
    diff = _diff(snap, cur)
    assert not diff, (f'{path} resolves differently from {SNAPSHOT}:\n  ' +
                      '\n  '.join(diff) + '\nIf the change is deliberate, run '
                      'tests/test_configs/test_config_snapshots.py --update')


def test_teacher_comparison_detects_a_different_network():

    def model(name):
        return canonical(
            Config.fromfile(
                osp.join(REPO, 'configs', '_base_', 'models', 'paddleclas',
                         name)).model)

    r18 = model('resnet18_vd.py')
    # defaults written out (num_stages, style, loss) build the same network
    terse = {k: v for k, v in r18.items()}
    terse['backbone'] = {
        k: v
        for k, v in r18['backbone'].items() if k not in ('num_stages', 'style')
    }
    assert terse != r18 and same_teacher(terse, r18)
    assert not same_teacher(r18, model('resnet34_vd.py'))  # other depth
    fewer_classes = dict(r18, head=dict(r18['head'], num_classes=10))
    assert not same_teacher(r18, fewer_classes)


def main(argv=None):
    parser = argparse.ArgumentParser(description='write the config snapshot')
    parser.add_argument('--update', action='store_true', required=True)
    parser.add_argument(
        '--root',
        default=REPO,
        help='checkout to resolve the configs of (default: this one)')
    args = parser.parse_args(argv)
    sys.path.insert(0, args.root)
    os.chdir(args.root)
    data = build_snapshot(args.root)
    with open(SNAPSHOT, 'w', encoding='utf-8') as f:
        json.dump(data, f, indent=1, sort_keys=True)
        f.write('\n')
    print(f"wrote {len(data['configs'])} resolved configs to {SNAPSHOT}")


if __name__ == '__main__':
    main()
