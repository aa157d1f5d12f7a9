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
    ddp_distiller = {'module.student.head.fc.weight': w,
                     'module.student.backbone.conv.weight': w}
    assert set(checkpoint_state_dict(ddp_distiller)) == {
        'student.head.fc.weight', 'student.backbone.conv.weight'}
    assert set(checkpoint_state_dict(ddp_distiller, strip=('module.', 'student.'))) \
        == {'head.fc.weight', 'backbone.conv.weight'}
    # a distiller checkpoint with teacher keys keeps its prefixes
    mixed = {'student.head.w': w, 'teacher.head.w': w}
    assert set(checkpoint_state_dict(mixed, strip=('student.', ))) == set(mixed)


def test_errors_name_the_file():
    with pytest.raises(TypeError, match=r'x\.pth: expected a checkpoint dict, got list'):
        checkpoint_state_dict([1], 'x.pth')
    with pytest.raises(TypeError, match=r"x\.pth: 'state_dict' is a str"):
        checkpoint_state_dict({'state_dict': 'oops'}, 'x.pth')
    with pytest.raises(ValueError, match=r'x\.pth: the checkpoint holds no tensors'):
        checkpoint_state_dict({'state_dict': {'a': 1}}, 'x.pth')
