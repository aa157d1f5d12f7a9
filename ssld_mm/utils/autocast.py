"""The ``autocast`` option (``'float16'`` / ``'bfloat16'``) of teacher forwards."""
from contextlib import nullcontext
from typing import ContextManager, Optional

import torch

#: Accepted names of an autocast dtype (the short names are aliases).
AUTOCAST_DTYPES = {
    'float16': torch.float16,
    'fp16': torch.float16,
    'bfloat16': torch.bfloat16,
    'bf16': torch.bfloat16,
}


def check_autocast(value: Optional[str], name: str = 'autocast') -> Optional[str]:
    """Return ``value`` if it is None or a key of :data:`AUTOCAST_DTYPES`.

    Args:
        value (str, optional): The option's value.
        name (str): The option's name, for the error message.

    Raises:
        ValueError: Naming the option, the accepted values and ``value``.
    """
    if value is not None and value not in AUTOCAST_DTYPES:
        raise ValueError(f'{name} must be None or one of '
                         f'{sorted(AUTOCAST_DTYPES)}, got {value!r}')
    return value


def autocast_context(device_type: str, dtype: Optional[str]) -> ContextManager:
    """``torch.autocast`` with the named dtype, or a no-op for None.

    Example:
        >>> with autocast_context('cpu', 'bfloat16'):
        ...     logits = model(x, mode='tensor')
    """
    if dtype is None:
        return nullcontext()
    return torch.autocast(
        device_type=device_type, dtype=AUTOCAST_DTYPES[check_autocast(dtype)])
