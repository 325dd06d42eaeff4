"""Small building blocks shared by the heads."""
import torch.nn.functional as F
from torch import nn


def conv1x1_gn_relu(in_channels: int, out_channels: int) -> nn.Sequential:
    """The paper's feature embedding: 1x1 convolution + GroupNorm + ReLU (8 channels a group)."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size=1, bias=False),
        nn.GroupNorm(max(1, out_channels // 8), out_channels),
        nn.ReLU(inplace=True),
    )


def resize_to(x, size):
    """Bilinear resize of a (N, C, h, w) map to ``size`` = (H, W); a no-op when equal."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


def conv3x3_gn_relu(in_channels: int, out_channels: int) -> nn.Sequential:
    """3x3 convolution (padding 1) + GroupNorm (8 channels a group) + ReLU."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=False),
        nn.GroupNorm(max(1, out_channels // 8), out_channels),
        nn.ReLU(inplace=True),
    )
