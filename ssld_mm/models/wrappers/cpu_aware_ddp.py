"""DDP wrapper that also works on machines without CUDA."""
from typing import List, Optional

import torch
from mmengine.model import MMDistributedDataParallel
from torch import nn

from ssld_mm.registry import MODEL_WRAPPERS


@MODEL_WRAPPERS.register_module()
class CPUAwareDistributedDataParallel(MMDistributedDataParallel):
    """:class:`MMDistributedDataParallel` that drops ``device_ids`` on CPU.

    MMEngine's Runner always passes ``device_ids=[LOCAL_RANK]``, which
    :class:`torch.nn.parallel.DistributedDataParallel` rejects for a CPU module.
    ``tools/train.py`` selects this wrapper (and the gloo backend) by itself when
    CUDA is not available, so ``tools/dist_train.sh CONFIG 2`` runs on a laptop.

    Args:
        module (nn.Module): The model to wrap.
        device_ids (list[int], optional): Passed on when the module is on a GPU;
            ignored for a CPU module.
        **kwargs: Other arguments of :class:`MMDistributedDataParallel`.

    Example:
        >>> model_wrapper_cfg = dict(type='CPUAwareDistributedDataParallel')
    """

    def __init__(self,
                 module: nn.Module,
                 device_ids: Optional[List[int]] = None,
                 **kwargs) -> None:
        on_cpu = all(p.device.type == 'cpu' for p in module.parameters())
        if on_cpu or not torch.cuda.is_available():
            device_ids = None
        super().__init__(module=module, device_ids=device_ids, **kwargs)
