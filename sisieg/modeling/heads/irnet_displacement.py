"""Displacement Field Module (DFM): multi-level features -> a 2-channel displacement field.

IRNet's layout (METHOD.md, "Heads"): every backbone level is embedded by 1x1 conv + GN +
ReLU; the coarse levels (stride above the finest) are resized to the finest coarse
resolution, concatenated and fused to ``fuse_channels``, then upsampled to the common
stride (4); the fine levels join them there and two more 1x1 convolutions give the field
D = (dy, dx) in feature pixels, meant to point from each pixel to its instance centroid.
"""
from typing import Dict, List

import torch
from detectron2.config import configurable
from detectron2.layers import ShapeSpec
from torch import nn

from .layers import conv1x1_gn_relu, resize_to
from .registry import DFM_HEAD_REGISTRY
from ...errors import InputError


@DFM_HEAD_REGISTRY.register_as("irnet")
class IRNetDisplacementHead(nn.Module):
    """The paper's DFM (``MODEL.SISEG.DFM.NAME: irnet``): the field at the finest level's stride."""

    @configurable
    def __init__(
        self,
        *,
        input_shape: Dict[str, ShapeSpec],
        in_features: List[str],
        level_channels: List[int],
        fuse_channels: int,
    ):
        """
        Args:
            input_shape: backbone output shapes by name.
            in_features: the levels to use, fine to coarse.
            level_channels: 1x1 embedding width of each level, same order.
            fuse_channels: width of the fused coarse levels and of the final block.
        """
        super().__init__()
        if len(level_channels) != len(in_features):
            raise InputError(
                f"MODEL.SISEG.DFM.LEVEL_CHANNELS has {len(level_channels)} entries but "
                f"MODEL.SISEG.IN_FEATURES has {len(in_features)}"
            )
        strides = [input_shape[f].stride for f in in_features]
        self.common_stride = min(strides)
        self.stride = self.common_stride
        self.out_channels = fuse_channels
        self.fine = [f for f, s in zip(in_features, strides) if s == self.common_stride]
        self.coarse = [f for f, s in zip(in_features, strides) if s > self.common_stride]
        width = dict(zip(in_features, level_channels))
        self.embed = nn.ModuleDict(
            {f: conv1x1_gn_relu(input_shape[f].channels, width[f]) for f in in_features}
        )
        fine_width = sum(width[f] for f in self.fine)
        if self.coarse:
            self.fuse_coarse = conv1x1_gn_relu(sum(width[f] for f in self.coarse), fuse_channels)
            fine_width += fuse_channels
        self.fuse = conv1x1_gn_relu(fine_width, fuse_channels)
        self.predictor = nn.Conv2d(fuse_channels, 2, kernel_size=1)

    @classmethod
    def from_config(cls, cfg, input_shape, input_channels):
        s = cfg.MODEL.SISEG
        return {
            "input_shape": input_shape,
            "in_features": s.IN_FEATURES,
            "level_channels": s.DFM.LEVEL_CHANNELS,
            "fuse_channels": s.DFM.FUSE_CHANNELS,
        }

    def forward(self, features: Dict[str, torch.Tensor], inputs: torch.Tensor = None) -> torch.Tensor:
        """Return the displacement field (N, 2, H/s, W/s), channels (dy, dx), in output pixels."""
        return self.predictor(self.fused(features))

    def fused(self, features: Dict[str, torch.Tensor]) -> torch.Tensor:
        """The fused multi-level features (N, fuse_channels, H/s, W/s) before the predictor."""
        size = features[self.fine[0]].shape[-2:]
        parts = [self.embed[f](features[f]) for f in self.fine]
        if self.coarse:
            coarse_size = features[self.coarse[0]].shape[-2:]
            coarse = [resize_to(self.embed[f](features[f]), coarse_size) for f in self.coarse]
            parts.append(resize_to(self.fuse_coarse(torch.cat(coarse, dim=1)), size))
        return self.fuse(torch.cat(parts, dim=1))
