from .layerwise_lr_optim_wrapper_constructor import (LayerwiseLROptimWrapperConstructor,
                                                     get_stage_patterns,
                                                     match_module_path)

__all__ = [
    'LayerwiseLROptimWrapperConstructor', 'get_stage_patterns', 'match_module_path'
]
