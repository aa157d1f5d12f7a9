"""Checks of the installed stack (used by ``make setup`` and the tests)."""
from typing import Dict


def check_stack() -> Dict[str, str]:
    """Run ``mmcv.ops.nms`` and ``mmcv.ops.RoIAlign`` on CPU; import mmdet/mmpretrain.

    Returns:
        dict: package name -> version, plus the ops results.

    Raises:
        RuntimeError: If an op gives a wrong result.
        ImportError: If a package or the compiled ops are missing.
    """
    import mmcv
    import mmengine
    import torch
    import torchvision
    from mmcv.ops import RoIAlign, nms

    boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 11., 11.], [50., 50., 60., 60.]])
    scores = torch.tensor([0.9, 0.8, 0.7])
    _, keep = nms(boxes, scores, iou_threshold=0.5)
    if keep.tolist() != [0, 2]:
        raise RuntimeError(f'mmcv.ops.nms kept {keep.tolist()}, expected [0, 2]')
    # A constant feature map: every RoIAlign output must equal the constant.
    feat = torch.full((1, 2, 8, 8), 3.0)
    rois = torch.tensor([[0., 1., 1., 5., 5.]])
    out = RoIAlign((2, 2), spatial_scale=1.0, sampling_ratio=2)(feat, rois)
    if out.shape != (1, 2, 2, 2) or not torch.allclose(out, torch.full_like(out, 3.0)):
        raise RuntimeError(f'mmcv.ops.RoIAlign gave {out.flatten().tolist()}')

    import mmdet
    import mmdet.models  # noqa: F401
    import mmpretrain
    import mmpretrain.models  # noqa: F401

    return {
        'torch': torch.__version__,
        'torchvision': torchvision.__version__,
        'mmengine': mmengine.__version__,
        'mmcv': f'{mmcv.__version__} (ops: nms, RoIAlign ok)',
        'mmpretrain': mmpretrain.__version__,
        'mmdet': mmdet.__version__,
        'cuda available': str(torch.cuda.is_available()),
    }
