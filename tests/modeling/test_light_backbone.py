"""The light backbone: Detectron2's ResNet layout (names, strides) at chosen widths."""
import pytest
import torch
from detectron2.layers import ShapeSpec
from detectron2.modeling import build_backbone, build_model

from sisieg.engine import build_config
from sisieg.errors import ConfigError

CONFIG = "configs/shapes/siseg_label_free.yaml"


def test_levels_have_the_configured_widths_and_resnet_strides():
    cfg = build_config(CONFIG, ["MODEL.SISEG.LIGHT_BACKBONE.WIDTHS", "[8, 16, 24, 32, 40]"])
    backbone = build_backbone(cfg, ShapeSpec(channels=3))
    features = backbone(torch.zeros(2, 3, 64, 96))
    expected = {"stem": (8, 4), "res2": (16, 4), "res3": (24, 8), "res4": (32, 16), "res5": (40, 32)}
    assert {k: (v.channels, v.stride) for k, v in backbone.output_shape().items()} == expected
    for name, (channels, stride) in expected.items():
        assert tuple(features[name].shape) == (2, channels, 64 // stride, 96 // stride)


def test_it_is_several_times_smaller_than_resnet18_and_trains_in_the_model():
    light = build_model(build_config(CONFIG))
    resnet = build_model(build_config("configs/shapes/siseg_label_free_R18.yaml"))
    count = lambda m: sum(p.numel() for p in m.backbone.parameters())  # noqa: E731
    assert count(light) * 5 < count(resnet)
    assert all(p.requires_grad for p in light.backbone.parameters())


@pytest.mark.parametrize("key, value", [("MODEL.SISEG.LIGHT_BACKBONE.WIDTHS", "[8, 16]"),
                                        ("MODEL.SISEG.LIGHT_BACKBONE.BLOCKS", "[1, 0, 1, 1]")])
def test_bad_widths_or_blocks_are_a_config_error(key, value):
    with pytest.raises(ConfigError, match="LIGHT_BACKBONE"):
        build_model(build_config(CONFIG, [key, value]))


def test_the_input_itself_is_a_stride_one_feature_when_asked_for():
    cfg = build_config(CONFIG, ["MODEL.RESNETS.OUT_FEATURES", '["input", "res3"]'])
    backbone = build_backbone(cfg, ShapeSpec(channels=3))
    x = torch.randn(1, 3, 32, 64)
    features = backbone(x)
    assert torch.equal(features["input"], x) and features["res3"].shape[-2:] == (4, 8)
    assert (backbone.output_shape()["input"].stride, backbone.size_divisibility) == (1, 8)
