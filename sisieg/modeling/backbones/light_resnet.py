"""A narrow residual backbone for masks (``MODEL.BACKBONE.NAME: build_sisieg_light_backbone``).

A palette-coloured or one-hot mask has little texture to learn: what the heads need from the
backbone is context (which object a pixel belongs to, where its centre is), not ImageNet
features. Detectron2's ResNet-18 fixes res2 at 64 channels and spends ~2.4 GMAC on a 256²
input; this network keeps its layout (``stem`` at stride 4, ``res2``..``res5`` at 4..32, basic
residual blocks, batch norm) with widths of the config's choosing, so the heads and
``MODEL.SISEG.IN_FEATURES`` work unchanged and a from-scratch model trains several times more
iterations in the same CPU time. It can also hand on its ``input`` (stride 1) as a feature, for
heads that refine at full resolution (``FineSemSegFPNHead``).
"""
from typing import Sequence

from detectron2.layers import Conv2d, ShapeSpec, get_norm
from detectron2.modeling import BACKBONE_REGISTRY, Backbone
from torch import nn
from torch.nn import functional as F

from ...errors import ConfigError

STAGES = ("res2", "res3", "res4", "res5")


def conv_norm(in_channels: int, out_channels: int, norm: str, stride: int = 1) -> Conv2d:
    """3x3 convolution (padding 1, no bias) with its normalisation layer."""
    return Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False,
                  norm=get_norm(norm, out_channels))


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with a residual connection (a strided 1x1 projection when the
    shape changes)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, norm: str):
        super().__init__()
        self.conv1 = conv_norm(in_channels, out_channels, norm, stride)
        self.conv2 = conv_norm(out_channels, out_channels, norm)
        self.shortcut = None
        if stride != 1 or in_channels != out_channels:
            self.shortcut = Conv2d(in_channels, out_channels, 1, stride=stride, bias=False,
                                   norm=get_norm(norm, out_channels))

    def forward(self, x):
        y = self.conv2(F.relu_(self.conv1(x)))
        return F.relu_(y + (x if self.shortcut is None else self.shortcut(x)))


class Stem(nn.Module):
    """Two strided 3x3 convolutions (stride 4 in all), named like Detectron2's stem's conv1."""

    def __init__(self, in_channels: int, out_channels: int, norm: str):
        super().__init__()
        self.conv1 = conv_norm(in_channels, out_channels, norm, stride=2)
        self.conv2 = conv_norm(out_channels, out_channels, norm, stride=2)

    def forward(self, x):
        return F.relu_(self.conv2(F.relu_(self.conv1(x))))


class LightResNet(Backbone):
    """``stem`` (two strided 3x3 convolutions, stride 4) then one stage per entry of
    ``widths[1:]``: ``res2`` at stride 4, each later stage halving the resolution."""

    def __init__(self, in_channels: int, widths: Sequence[int], blocks: Sequence[int], norm: str,
                 out_features: Sequence[str]):
        super().__init__()
        if len(widths) != 5 or len(blocks) != 4 or min(blocks) < 1:
            raise ConfigError(
                f"MODEL.SISEG.LIGHT_BACKBONE needs 5 WIDTHS (stem, res2..res5) and 4 BLOCKS >= 1, "
                f"got {list(widths)} and {list(blocks)}"
            )
        names = ("input", "stem") + STAGES
        unknown = [f for f in out_features if f not in names]
        if unknown:
            raise ConfigError(f"MODEL.RESNETS.OUT_FEATURES {unknown} are not among {list(names)}")
        self.stem = Stem(in_channels, widths[0], norm)
        self.stages = nn.ModuleDict()
        previous, stride = widths[0], 4
        self._out_feature_channels = {"input": in_channels, "stem": widths[0]}
        self._out_feature_strides = {"input": 1, "stem": 4}
        for name, width, count, step in zip(STAGES, widths[1:], blocks, (1, 2, 2, 2)):
            stride *= step
            layers = [BasicBlock(previous, width, step, norm)]
            layers += [BasicBlock(width, width, 1, norm) for _ in range(count - 1)]
            self.stages[name] = nn.Sequential(*layers)
            self._out_feature_channels[name] = width
            self._out_feature_strides[name] = stride
            previous = width
        self._out_features = list(out_features)
        self._last = max(names.index(f) for f in out_features)

    def forward(self, x):
        outputs = {"input": x}
        x = self.stem(x)
        outputs["stem"] = x
        for name in STAGES[: max(self._last - 1, 0)]:
            x = self.stages[name](x)
            outputs[name] = x
        return {f: outputs[f] for f in self._out_features}

    @property
    def size_divisibility(self) -> int:
        """Inputs padded to a multiple of the coarsest output stride (Detectron2's meta
        architectures, e.g. SemanticSegmentor, read it), so every level lines up."""
        return max(self._out_feature_strides[f] for f in self._out_features)

    def output_shape(self):
        return {
            f: ShapeSpec(channels=self._out_feature_channels[f], stride=self._out_feature_strides[f])
            for f in self._out_features
        }


@BACKBONE_REGISTRY.register()
def build_sisieg_light_backbone(cfg, input_shape: ShapeSpec) -> LightResNet:
    """The light backbone of ``MODEL.SISEG.LIGHT_BACKBONE`` with ``MODEL.RESNETS.OUT_FEATURES``
    and ``MODEL.RESNETS.NORM``."""
    light = cfg.MODEL.SISEG.LIGHT_BACKBONE
    return LightResNet(input_shape.channels, light.WIDTHS, light.BLOCKS, cfg.MODEL.RESNETS.NORM,
                       cfg.MODEL.RESNETS.OUT_FEATURES)
