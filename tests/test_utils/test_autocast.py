"""ssld_mm.utils.autocast: the one dtype table of every autocast option."""
import pytest
import torch

from ssld_mm.utils.autocast import AUTOCAST_DTYPES, autocast_context, check_autocast


def test_check_autocast_accepts_names_and_none():
    for name in ('float16', 'fp16', 'bfloat16', 'bf16', None):
        assert check_autocast(name) == name
    assert AUTOCAST_DTYPES['bf16'] is torch.bfloat16
    assert AUTOCAST_DTYPES['fp16'] is torch.float16


def test_check_autocast_names_the_option_and_the_choices():
    with pytest.raises(
            ValueError,
            match=r"teacher_autocast must be None or one "
            r"of \['bf16', 'bfloat16', 'float16', 'fp16'\], got 'fp8'"):
        check_autocast('fp8', 'teacher_autocast')


def test_autocast_context_runs_matmul_in_the_dtype():
    a, b = torch.randn(4, 4), torch.randn(4, 4)
    with autocast_context('cpu', 'bfloat16'):
        assert (a @ b).dtype == torch.bfloat16
    with autocast_context('cpu', None):
        assert (a @ b).dtype == torch.float32
    with pytest.raises(ValueError, match='autocast must be None or one of'):
        autocast_context('cpu', 'half')
