# Transfer an SSLD-distilled MobileNetV3_large_x1_0 to SUN397 with per-stage
# lr (PaddleDetection's MobileNetV3 lr_mult_list grouping: stem + blocks in
# threes at 0.25, 0.25, 0.5, 0.5, 0.75 of the lr; the head at the full lr).
_base_ = [
    '../_base_/models/mobilenet_v3_large.py',
    '../_base_/datasets/sun397_bs32_transfer.py',
    '../_base_/schedules/transfer_sgd_cosine_20e.py',
    '../_base_/default_runtime.py',
]

model = dict(head=dict(num_classes=397, topk=(1, 5)))

optim_wrapper = dict(
    constructor='LayerwiseLROptimWrapperConstructor',
    paramwise_cfg=dict(lr_mult_list=[0.25, 0.25, 0.5, 0.5, 0.75]))

# The distilled student exported by tools/model_converters/extract_student.py.
# head.layers.0 (960 -> 1280) loads; the 1000-class head.layers.1 does not fit
# and stays freshly initialised (MMEngine logs the size mismatch).
load_from = 'checkpoints/mobilenet_v3_large_ssld.pth'
