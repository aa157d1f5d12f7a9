# SSLD on L only: the LeNet-5 student learns the frozen demo teacher's soft
# predictions on the 2000 images of L, without their labels (same schedule as
# the label-only baseline).
#   python tools/train.py configs/demo/ssld_lenet5_fmnist_labeled.py
# after configs/demo/teacher_resnet18_fmnist.py (teacher_ckpt below).
_base_ = ['./lenet5_fmnist_label_only.py']

model = dict(
    _delete_=True,
    type='SSLDDistiller',
    student={{_base_.model}},
    teacher='{{ fileDirname }}/teacher_resnet18_fmnist.py',
    teacher_ckpt='work_dirs/teacher_resnet18_fmnist/epoch_40.pth',
    # PaddleClas's SSLD loss (it calls it "JSDivLoss"): the symmetric KL
    # divergence. The true Jensen-Shannon divergence (ssld_mm's JSDivLoss) has
    # about 4x smaller gradients near agreement and, at this schedule, leaves
    # the student below the label-only baseline (docs/demo.md).
    distill_loss=dict(type='SymmetricKLLoss', loss_weight=1.0),
    gt_loss_weight=0.0)

# L with its labels removed: the student never sees a label.
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='UnlabeledDataset',
        dataset={{_base_.fmnist_train}},
        indices={{_base_.labeled_idx}}))
