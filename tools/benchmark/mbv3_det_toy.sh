#!/usr/bin/env bash
# MobileNetV3 Cascade R-CNN (configs/detection/cascade-rcnn_mbv3-large-ssld_fpn_320_coco.py)
# on the COCO toy set, on CPU: COCO mAP of the untrained detector, then of the
# detector trained for 12 epochs (64 images, batch 2, 384 iterations, lr 0.02,
# recipe otherwise unchanged: frozen BN, lr_mult_list, per-parameter decay).
# No pretrained weights offline: the backbone is Kaiming-initialised with BN
# statistics calibrated on the toy training images (variance floor 1; the recipe
# freezes BN). AutoAugment v1 is left out: its magnitudes are absolute pixels
# (translate 100 px, rotate 30 deg ...) for COCO-sized images and wipe out most
# objects of 128 px canvases.
# Usage: tools/benchmark/mbv3_det_toy.sh [OUT_DIR]   (docs/detection.md)
set -euo pipefail
export OUT="${1:-work_dirs/mbv3_det_toy}"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
PY="${PYTHON:-python}"
CONFIG=configs/detection/cascade-rcnn_mbv3-large-ssld_fpn_320_coco.py
mkdir -p "$OUT"
"$PY" - "$CONFIG" <<'PY'
import glob, os, sys
import cv2, numpy as np, torch
from ssld_mm.models.backbones import PaddleMobileNetV3
from ssld_mm.testing import make_coco_toy, write_coco_toy_config
out, config = os.environ['OUT'], sys.argv[1]
info = make_coco_toy(out + '/coco', num_train=64, num_val=16, image_size=128,
                     object_size=(32, 56), seed=0)
torch.manual_seed(0)
backbone = PaddleMobileNetV3('large')
backbone.init_weights()
bns = [m for m in backbone.modules() if isinstance(m, torch.nn.BatchNorm2d)]
for bn in bns:
    bn.momentum = None  # cumulative average over the calibration batches
mean = torch.tensor([123.675, 116.28, 103.53]).view(1, 3, 1, 1)
std = torch.tensor([58.395, 57.12, 57.375]).view(1, 3, 1, 1)
imgs = [cv2.imread(p)[..., ::-1].copy()
        for p in sorted(glob.glob(out + '/coco/train2017/*.png'))]
x = (torch.from_numpy(np.stack(imgs)).permute(0, 3, 1, 2).float() - mean) / std
backbone.train()
with torch.no_grad():
    for i in range(0, len(x), 16):
        backbone(x[i:i + 16])
    for bn in bns:  # no channel amplified by a near-zero variance
        bn.running_var.clamp_(min=1.0)
torch.save({'state_dict': {f'backbone.{k}': v
                           for k, v in backbone.state_dict().items()}},
           out + '/mbv3_calibrated.pth')
cfg = write_coco_toy_config(
    config, out + '/toy320.py', info, scale=(128, 128), batch_size=2,
    max_epochs=12, warmup_iters=50, lr=0.02,
    checkpoint=out + '/mbv3_calibrated.pth')
with open(cfg, 'a') as f:
    f.write("train_dataloader['dataset']['pipeline'] = [s for s in "
            "train_dataloader['dataset']['pipeline'] "
            "if s['type'] != 'ssld_mm.DetAutoAugmentV1']\n")
# the untrained detector: backbone loaded, neck and heads at their init
from mmengine.config import Config
from mmengine.registry import init_default_scope
import ssld_mm.engine, ssld_mm.models  # noqa: F401,E401
from mmdet.registry import MODELS
init_default_scope('mmdet')
torch.manual_seed(0)
model = MODELS.build(Config.fromfile(cfg).model)
model.init_weights()
torch.save({'state_dict': model.state_dict(), 'meta': {}},
           out + '/untrained.pth')
PY
"$PY" tools/test.py "$OUT/toy320.py" "$OUT/untrained.pth" \
    --work-dir "$OUT/test_untrained" > "$OUT/test_untrained.log" 2>&1
echo "untrained: $(grep -o 'coco/bbox_mAP: [0-9.]*  coco/bbox_mAP_50: [0-9.]*' \
    "$OUT/test_untrained.log" | tail -1)"
"$PY" tools/train.py "$OUT/toy320.py" --work-dir "$OUT/work" --cfg-options \
    train_dataloader.sampler.type=DefaultSampler log_processor.by_epoch=True \
    train_cfg.val_interval=4 default_hooks.checkpoint.interval=4 \
    > "$OUT/train.log" 2>&1
grep -o 'Epoch(val) \[[0-9]*\].*coco/bbox_mAP: [0-9.]*  coco/bbox_mAP_50: [0-9.]*' \
    "$OUT/train.log" | sed 's/\]\[.*\] */] /'
