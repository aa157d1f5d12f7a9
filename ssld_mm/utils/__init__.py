from .checkpoint import load_local_checkpoint, patch_mmengine_checkpoint_loader
from .setup_env import register_all_modules

__all__ = [
    'register_all_modules', 'load_local_checkpoint', 'patch_mmengine_checkpoint_loader'
]
