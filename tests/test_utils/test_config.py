"""ssld_mm.utils.config.load_config_file: the one config loader with clear errors."""
import pytest
from conftest import TINY_CLS_CONFIG

from ssld_mm.utils.config import load_config_file


def test_loads_and_checks_required_keys():
    cfg = load_config_file(TINY_CLS_CONFIG, require=('model', ))
    assert cfg.model.type.endswith('ImageClassifier')


def test_missing_file_and_key_name_file_and_role(tmp_path):
    nope = str(tmp_path / 'nope.py')
    with pytest.raises(
            FileNotFoundError,
            match=r"teacher config file '.*nope\.py' does not exist"):
        load_config_file(nope, 'teacher config')
    empty = tmp_path / 'empty.py'
    empty.write_text('x = 1\n')
    with pytest.raises(ValueError, match=r"config '.*empty\.py' has no `model` key"):
        load_config_file(str(empty), require=('model', ))
