"""tools/benchmark/det_speed.py: input sizes from the pipelines, and one
measured train/test step of the MobileNetV3 320 config."""
import importlib.util
import os.path as osp

from conftest import REPO


def _tool():
    path = osp.join(REPO, 'tools', 'benchmark', 'det_speed.py')
    spec = importlib.util.spec_from_file_location('det_speed', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_sizes_follow_the_config_resize_steps():
    tool = _tool()
    # 640x480 into (512, 320) keeping the ratio: factor min(0.8, 0.667)
    assert tool.resized_size([
        dict(type='LoadImageFromFile'),
        dict(
            type='RandomChoiceResize',
            keep_ratio=True,
            scales=[(512, 224), (512, 320), (512, 384)])
    ]) == (427, 320)
    assert tool.resized_size([dict(type='Resize', scale=(320, 320),
                                   keep_ratio=True)]) == (320, 240)
    assert tool.resized_size([dict(type='Resize', scale=(64, 32))]) == (64, 32)
    assert tool.resized_size([dict(type='PackDetInputs')]) == (640, 480)


def test_measures_the_mbv3_320_config():
    tool = _tool()
    config = osp.join(REPO, 'configs', 'detection',
                      'cascade-rcnn_mbv3-large-ssld_fpn_320_coco.py')
    result = tool.measure(config, batch=1, train_iters=1, test_iters=1, warmup=0)
    assert result['train_size'] == [427, 320]
    assert result['test_size'] == [320, 240]
    assert result['train_batch'] == 1
    assert result['train_img_per_s'] > 0 and result['test_img_per_s'] > 0
