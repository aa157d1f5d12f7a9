"""ssld_mm.utils.state_dict: the one way to get weights out of a checkpoint."""
import pytest
import torch

from ssld_mm.utils.state_dict import checkpoint_state_dict


def test_state_dict_key_bare_dict_and_non_tensors():
    w = torch.ones(2)
    assert checkpoint_state_dict({'state_dict': {'a.w': w}, 'meta': {}}) == {'a.w': w}
    assert checkpoint_state_dict({'a.w': w, 'step': 3}) == {'a.w': w}


def test_prefixes_are_stripped_in_order_only_when_every_key_has_them():
    w = torch.zeros(1)
    ddp_distiller = {
        'module.student.head.fc.weight': w,
        'module.student.backbone.conv.weight': w
    }
    assert set(checkpoint_state_dict(ddp_distiller)) == {
        'student.head.fc.weight', 'student.backbone.conv.weight'
    }
    assert set(checkpoint_state_dict(ddp_distiller, strip=('module.', 'student.'))) \
        == {'head.fc.weight', 'backbone.conv.weight'}
    # a distiller checkpoint with teacher keys keeps its prefixes
    mixed = {'student.head.w': w, 'teacher.head.w': w}
    assert set(checkpoint_state_dict(mixed, strip=('student.', ))) == set(mixed)


def test_errors_name_the_file():
    with pytest.raises(
            TypeError, match=r'x\.pth: expected a checkpoint dict, got list'):
        checkpoint_state_dict([1], 'x.pth')
    with pytest.raises(TypeError, match=r"x\.pth: 'state_dict' is a str"):
        checkpoint_state_dict({'state_dict': 'oops'}, 'x.pth')
    with pytest.raises(ValueError, match=r'x\.pth: the checkpoint holds no tensors'):
        checkpoint_state_dict({'state_dict': {'a': 1}}, 'x.pth')


def test_compare_state_dicts_lists_and_describes():
    from ssld_mm.utils.state_dict import compare_state_dicts
    own = {'a': torch.zeros(2), 'b': torch.zeros(3), 'c': torch.zeros(1)}
    state = {'a': torch.zeros(2), 'b': torch.zeros(4), 'd': torch.zeros(1)}
    m = compare_state_dicts(own, state)
    assert m.missing == ['c'] and m.unexpected == ['d']
    assert m.mismatched == ['b: checkpoint (4,) vs model (3,)']
    assert bool(m) and not compare_state_dicts(own, dict(own))
    assert m.describe() == (
        '\n  missing keys (1):\n    c'
        '\n  unexpected keys (1):\n    d'
        '\n  shape mismatches (1):\n    b: checkpoint (4,) vs model (3,)')
    many = compare_state_dicts({f'k{i}': torch.zeros(1) for i in range(5)}, {})
    assert many.describe(max_listed=2).endswith('k1\n    ... and 3 more')
