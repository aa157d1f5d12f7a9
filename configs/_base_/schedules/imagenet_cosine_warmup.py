# SGD momentum 0.9, linear warmup then cosine decay to 0, per iteration
# (PaddleClas's Cosine with warmup_epoch). Leaf configs set lr, weight decay,
# max_epochs and re-state param_scheduler when they change warmup/epochs.
max_epochs = 120
warmup_epochs = 5

optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4))

param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-3,
        by_epoch=True,
        begin=0,
        end=warmup_epochs,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs - warmup_epochs,
        eta_min=0.0,
        by_epoch=True,
        begin=warmup_epochs,
        end=max_epochs,
        convert_to_iter_based=True),
]

train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
val_cfg = dict()
test_cfg = dict()

# lr values in leaf configs are for the total batch below; `--auto-scale-lr`
# rescales them to the actual batch (GPUs x per-GPU batch).
auto_scale_lr = dict(base_batch_size=256, enable=False)
