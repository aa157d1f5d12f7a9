from .cpu_aware_ddp import CPUAwareDistributedDataParallel

__all__ = ['CPUAwareDistributedDataParallel']
