"""Backbones declare their lr_mult_list stage groups (stage_groups())."""
import pytest

from ssld_mm.models.backbones import MobileNetV1, PaddleMobileNetV2, PaddleMobileNetV3
from ssld_mm.models.backbones.paddle_mobilenet_v3 import mobilenet_v3_stage_groups


def test_mobilenet_v3_rule_by_hand():
    groups = mobilenet_v3_stage_groups(['stem'], [f'b{i}' for i in range(15)], ['last'])
    assert groups == [['stem', 'b0', 'b1', 'b2'], ['b3', 'b4', 'b5'],
                      ['b6', 'b7', 'b8'], ['b9', 'b10', 'b11'],
                      ['b12', 'b13', 'b14', 'last']]
    small = mobilenet_v3_stage_groups(['stem'], [f'b{i}' for i in range(11)], ['last'])
    assert small[3] == ['b9', 'b10', 'last'] and small[4] == []


def test_paddle_mobilenet_v3_groups_in_threes():
    large = PaddleMobileNetV3('large', scale=0.35).stage_groups()
    b = [f'blocks.{i}' for i in range(15)]
    assert large == [['stem'] + b[0:3], b[3:6], b[6:9], b[9:12],
                     b[12:15] + ['last_second_conv']]
    small = PaddleMobileNetV3('small', scale=0.35).stage_groups()
    assert small[3] == ['blocks.9', 'blocks.10', 'last_second_conv']
    assert small[4] == []


def test_mobilenet_v1_and_v2_groups_by_stride():
    assert MobileNetV1(scale=0.25).stage_groups() == [
        ['stem', 'blocks.0'], ['blocks.1', 'blocks.2'], ['blocks.3', 'blocks.4'],
        [f'blocks.{i}' for i in range(5, 11)], ['blocks.11', 'blocks.12']
    ]
    assert PaddleMobileNetV2(scale=0.25).stage_groups() == [['stem', 'stages.0'],
                                                            ['stages.1'], ['stages.2'],
                                                            ['stages.3', 'stages.4'],
                                                            [
                                                                'stages.5', 'stages.6',
                                                                'final_conv'
                                                            ]]


@pytest.mark.parametrize('backbone', [
    lambda: MobileNetV1(scale=0.25),
    lambda: PaddleMobileNetV2(scale=0.25),
    lambda: PaddleMobileNetV3('large', scale=0.35),
    lambda: PaddleMobileNetV3('small', scale=0.35),
    lambda: PaddleMobileNetV3('large', scale=0.35, feature_maps=[2, 3, 4]),
])
def test_every_parameter_is_in_exactly_one_group(backbone):
    model = backbone()
    paths = [p for group in model.stage_groups() for p in group]
    for name, _ in model.named_parameters():
        assert sum(name == p or name.startswith(p + '.') for p in paths) == 1, name
