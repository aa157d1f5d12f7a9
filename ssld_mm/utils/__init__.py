from .checkpoint import load_local_checkpoint, patch_mmengine_checkpoint_loader
from .setup_env import register_all_modules, setup_runtime

__all__ = [
    'register_all_modules', 'setup_runtime', 'load_local_checkpoint',
    'patch_mmengine_checkpoint_loader'
]
