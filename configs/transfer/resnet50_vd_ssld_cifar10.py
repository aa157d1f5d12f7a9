# Transfer an SSLD-distilled ResNet50_vd to CIFAR-10 with per-stage lr
# (PaddleClas lr_mult_list: stem, res2..res5 at 0.1, 0.1, 0.2, 0.2, 0.3 of the
# lr; the new classifier at the full lr).
_base_ = [
    '../_base_/models/paddleclas/resnet50_vd.py',
    '../_base_/datasets/cifar10_bs32_transfer.py',
    '../_base_/schedules/transfer_sgd_cosine_20e.py',
    '../_base_/default_runtime.py',
]

model = dict(head=dict(num_classes=10, topk=(1, 5)))

optim_wrapper = dict(
    constructor='LayerwiseLROptimWrapperConstructor',
    paramwise_cfg=dict(lr_mult_list=[0.1, 0.1, 0.2, 0.2, 0.3]))

# The distilled student exported by tools/model_converters/extract_student.py
# (an MMPretrain classifier checkpoint). Its 1000-class head.fc does not fit
# and stays freshly initialised (MMEngine logs the size mismatch).
load_from = 'checkpoints/resnet50_vd_ssld.pth'
