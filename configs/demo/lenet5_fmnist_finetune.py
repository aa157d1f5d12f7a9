# SSLD stage 2: fine-tune the distilled LeNet-5 on the labeled subset L with
# labels and a small lr (PaddleClas fine-tunes its SSLD students the same way).
# Start from the student exported from stage 1:
#   python tools/model_converters/extract_student.py \
#       work_dirs/ssld_lenet5_fmnist_unlabeled/epoch_3.pth \
#       work_dirs/ssld_lenet5_fmnist_unlabeled/student.pth
#   python tools/train.py configs/demo/lenet5_fmnist_finetune.py
_base_ = ['./lenet5_fmnist_label_only.py']

load_from = 'work_dirs/ssld_lenet5_fmnist_unlabeled/student.pth'

optim_wrapper = dict(optimizer=dict(lr=0.005))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=5, by_epoch=True, convert_to_iter_based=True)
]
train_cfg = dict(by_epoch=True, max_epochs=5, val_interval=1)
