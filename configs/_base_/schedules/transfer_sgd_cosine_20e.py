# Transfer fine-tuning (PaddleClas's SSLD quick-start fine-tune of a
# pretrained ResNet50_vd_ssld / MobileNetV3_large_ssld on Flowers102):
# SGD momentum 0.9, lr 0.00375 for a total batch of 32, L2 1e-6, cosine
# decay to 0 over 20 epochs, no warmup. A starting point, not a tuned recipe:
# PaddleClas's transfer-learning study searches lr in [1e-4, 0.1] and L2 in
# [1e-6, 1e-3] per dataset. `--auto-scale-lr` rescales lr to the real batch.
max_epochs = 20

optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.00375, momentum=0.9, weight_decay=1e-6))

param_scheduler = [
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs,
        eta_min=0.0,
        by_epoch=True,
        begin=0,
        end=max_epochs,
        convert_to_iter_based=True),
]

train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
val_cfg = dict()
test_cfg = dict()

auto_scale_lr = dict(base_batch_size=32, enable=False)
