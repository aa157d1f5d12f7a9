# Runtime defaults of every ssld_mm config (MMPretrain's, scope ssld_mm).
default_scope = 'ssld_mm'
custom_imports = dict(imports=['ssld_mm'], allow_failed_imports=False)
# SSLDRunner applies ssld_mm.utils.setup_runtime() (safe checkpoint loading, atomic
# saves, resume from the newest complete checkpoint) under any train.py, also
# MMPretrain's and MMDetection's; importing ssld_mm alone changes nothing.
runner_type = 'ssld_mm.SSLDRunner'

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=100),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # saves atomically, prunes old checkpoints only after the new one is written
    checkpoint=dict(type='CrashSafeCheckpointHook', interval=1, max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='mmpretrain.VisualizationHook', enable=False),
    # lists images ImageListDataset(on_bad_image='skip') replaced in work_dir
    bad_images=dict(type='BadImageHook'),
    # stops at the first NaN/inf loss, before the optimizer step
    finite_loss=dict(type='FiniteLossHook'),
    # a list label >= the model's num_classes stops before training (list:line)
    label_range=dict(type='LabelRangeHook'),
)

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # tools/train.py switches to gloo by itself when CUDA is not available.
    dist_cfg=dict(backend='nccl'),
)

vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='mmpretrain.UniversalVisualizer', vis_backends=vis_backends)

log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=None, deterministic=False)
