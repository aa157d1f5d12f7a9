"""Paddle-compatible backbones and the MobileNetV3 head (no Paddle needed)."""
import pytest
import torch
from mmpretrain.models import Res2Net, ResNetV1d
from torch import nn

from ssld_mm.models.backbones import (MobileNetV1, PaddleMobileNetV2, PaddleMobileNetV3,
                                      PaddleRes2Net, PaddleResNetV1d)
from ssld_mm.models.backbones.paddle_mobilenet_v3 import PaddleHardsigmoid
from ssld_mm.models.heads import PaddleMobileNetV3Head


def x64():
    return torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))


def shapes(model, x):
    model.eval()
    with torch.no_grad():
        return [tuple(t.shape) for t in model(x)]


# ------------------------------------------------------------- MobileNetV3
def test_mobilenet_v3_outputs_and_paddle_layout():
    large = PaddleMobileNetV3('large')
    assert large.out_indices == (16, )
    # PaddleClas's detection stages blocks[2, 5, 11, 14] = indices 3, 6, 12, 15
    large = PaddleMobileNetV3('large', out_indices=(0, 3, 6, 12, 15, 16))
    assert shapes(large, x64()) == [(2, 16, 32, 32), (2, 24, 16, 16), (2, 40, 8, 8),
                                    (2, 112, 4, 4), (2, 160, 2, 2), (2, 960, 2, 2)]
    # block 0 keeps its 16->16 expand conv; SE squeeze is C // 4, not rounded
    assert large.blocks[0].expand_conv.conv.weight.shape == (16, 16, 1, 1)
    assert large.blocks[3].mid_se.conv1.weight.shape == (18, 72, 1, 1)
    assert large.blocks[3].mid_se.conv1.bias is not None
    assert large.stem.bn.eps == 1e-5
    small = PaddleMobileNetV3('small', scale=0.35, out_indices=-1)
    assert small.out_indices == (12, )
    assert shapes(small, x64()) == [(2, 200, 2, 2)]  # make_divisible(201.6)
    assert not small.blocks[0].with_shortcut and small.blocks[2].with_shortcut


def test_paddle_hardsigmoid_uses_slope_0_2():
    x = torch.tensor([-3.0, -2.5, 0.0, 1.0, 2.5, 3.0])
    expected = torch.tensor([0.0, 0.0, 0.5, 0.7, 1.0, 1.0])
    torch.testing.assert_close(PaddleHardsigmoid()(x), expected)


def test_mobilenet_v3_frozen_stages_and_norm_eval():
    model = PaddleMobileNetV3('small', frozen_stages=2, norm_eval=True)
    model.train()
    for layer in (model.stem, model.blocks[0], model.blocks[1]):
        assert not layer.training
        assert all(not p.requires_grad for p in layer.parameters())
    assert all(p.requires_grad for p in model.blocks[2].parameters())
    assert model.blocks[2].training
    assert all(not m.training for m in model.modules() if isinstance(m, nn.BatchNorm2d))


def test_mobilenet_v3_layer_names_for_layerwise_lr():
    names = {n.split('.')[0] for n, _ in PaddleMobileNetV3().named_parameters()}
    assert names == {'stem', 'blocks', 'last_second_conv'}
    keys = dict(PaddleMobileNetV3('large').named_parameters())
    assert 'blocks.14.linear_conv.bn.weight' in keys
    assert not any(k.startswith('blocks.15.') for k in keys)


@pytest.mark.parametrize('kwargs, error, match', [
    (dict(arch='medium'), ValueError, r"arch must be one of \['large', 'small'\]"),
    (dict(scale=0), ValueError, 'scale must be > 0, got 0'),
    (dict(scale='1.0'), TypeError, 'scale must be a number'),
    (dict(out_indices=17), ValueError, 'out_indices entry 17 is out of range'),
    (dict(out_indices=[]), TypeError, 'non-empty sequence'),
    (dict(frozen_stages=17), ValueError, r'frozen_stages must be an int in '
     r'\[-1, 16\]'),
])
def test_mobilenet_v3_argument_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        PaddleMobileNetV3(**kwargs)


# ---------------------------------------------------------------- head
def test_mobilenet_v3_head_downscales_in_inference():
    torch.manual_seed(0)
    head = PaddleMobileNetV3Head(
        num_classes=5, in_channels=8, mid_channels=64, dropout_rate=0.2)
    head.eval()
    feat = torch.randn(3, 8)
    hidden = nn.functional.hardswish(feat @ head.last_conv.weight.T)
    expected = (0.8 * hidden) @ head.fc.weight.T + head.fc.bias
    torch.testing.assert_close(head((feat, )), expected)
    assert head.last_conv.bias is None

    head.train()
    torch.manual_seed(1)
    dropped = head.pre_logits((feat, ))
    kept = dropped != 0
    assert 0 < int(kept.sum()) < int((hidden != 0).sum())
    # training zeroes units without rescaling the others (Paddle's mode)
    torch.testing.assert_close(dropped[kept], hidden[kept])

    torch_mode = PaddleMobileNetV3Head(5, 8, 64, dropout_mode='upscale_in_train')
    torch_mode.load_state_dict(head.state_dict())
    torch_mode.eval()
    torch.testing.assert_close(torch_mode.pre_logits((feat, )), hidden)


@pytest.mark.parametrize('kwargs, match', [
    (dict(num_classes=0), 'num_classes must be a positive int'),
    (dict(num_classes=5, dropout_rate=1.0), r'dropout_rate must be in \[0, 1\)'),
    (dict(num_classes=5, dropout_mode='both'), 'dropout_mode must be one of'),
])
def test_mobilenet_v3_head_argument_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        PaddleMobileNetV3Head(**kwargs)


# ------------------------------------------------------------ MobileNetV1/V2
def test_mobilenet_v1_widths_and_outputs():
    model = MobileNetV1(scale=0.25, out_indices=(0, 1, 3, 5, 11, 13))
    assert shapes(model, x64()) == [(2, 8, 32, 32), (2, 16, 32, 32), (2, 32, 16, 16),
                                    (2, 64, 8, 8), (2, 128, 4, 4), (2, 256, 2, 2)]
    dw = model.blocks[1].depthwise_conv.conv
    assert dw.groups == 16 and dw.weight.shape == (16, 1, 3, 3)
    assert MobileNetV1(scale=0.75).out_channels == 768
    with pytest.raises(ValueError, match='out of range'):
        MobileNetV1(out_indices=14)


def test_mobilenet_v2_is_paddleclas_layout():
    model = PaddleMobileNetV2(scale=0.75, out_indices=(0, 1, 2, 7, 8))
    # int(c * 0.75): 24 -> 18 (mmpretrain's make_divisible gives 24)
    assert shapes(model, x64()) == [(2, 24, 32, 32), (2, 12, 32, 32), (2, 18, 16, 16),
                                    (2, 240, 2, 2), (2, 1280, 2, 2)]
    first = model.stages[0][0]
    assert first.expand_conv.conv.weight.shape == (24, 24, 1, 1)  # t = 1
    assert not first.with_shortcut and model.stages[1][1].with_shortcut
    assert PaddleMobileNetV2(scale=1.5).out_channels == 1920
    assert len(model.stages[3]) == 4


# --------------------------------------------------------- ResNet_vd, Res2Net
def test_paddle_resnet_v1d_equals_mmpretrain_for_depth_50():
    ours, theirs = PaddleResNetV1d(depth=50), ResNetV1d(depth=50)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    theirs.load_state_dict(ours.state_dict())
    ours.eval()
    theirs.eval()
    x = x64()
    with torch.no_grad():
        torch.testing.assert_close(ours(x), theirs(x))


def test_paddle_resnet_v1d_first_stage_projection_and_depth_200():
    r18 = PaddleResNetV1d(depth=18, out_indices=(0, 3))
    assert ResNetV1d(depth=18).layer1[0].downsample is None
    proj = r18.layer1[0].downsample
    assert proj[0].weight.shape == (64, 64, 1, 1) and proj[0].stride == (1, 1)
    assert isinstance(proj[1], nn.BatchNorm2d)
    assert r18.layer2[0].downsample[0].__class__ is nn.AvgPool2d
    assert shapes(r18, x64()) == [(2, 64, 16, 16), (2, 512, 2, 2)]
    r200 = PaddleResNetV1d(depth=200)
    assert [len(getattr(r200, f'layer{i}')) for i in range(1, 5)] == \
        [3, 12, 48, 3]
    with pytest.raises(
            ValueError,
            match=r'depth must be one of \[18, 34, 50, '
            r'101, 152, 200\], got 26'):
        PaddleResNetV1d(depth=26)


def test_paddle_res2net_split_rule():
    torch.manual_seed(0)
    model = PaddleRes2Net(depth=50, out_indices=(0, 1))
    reference = Res2Net(depth=50, out_indices=(0, 1))
    assert list(model.state_dict()) == list(reference.state_dict())
    block = model.layer1[0]  # stride 1, first of its stage
    block.eval()
    for bn in [block.bn1, block.bn3, *block.bns]:
        bn.running_mean.normal_(0, 0.1)
        bn.running_var.uniform_(0.5, 2)
    x = torch.randn(1, 64, 9, 9)
    with torch.no_grad():
        out = torch.relu(block.bn1(block.conv1(x)))
        xs = torch.split(out, block.width, 1)
        ys = [torch.relu(block.bns[0](block.convs[0](xs[0])))]
        for i in (1, 2):  # hierarchical in PaddleClas's stride-1 blocks
            ys.append(torch.relu(block.bns[i](block.convs[i](xs[i] + ys[-1]))))
        ys.append(xs[3])  # last split passes through, unpooled
        expected = torch.relu(
            block.bn3(block.conv3(torch.cat(ys, 1))) + block.downsample(x))
        torch.testing.assert_close(block(x), expected)
    pool = model.layer2[0].pool
    assert pool.count_include_pad is False and pool.stride == 2
    assert not hasattr(model.layer1[0], 'pool')
    assert len(PaddleRes2Net(depth=200).layer3) == 48
    with pytest.raises(ValueError, match='deep_stem and avg_down must be True'):
        PaddleRes2Net(depth=50, avg_down=False)
