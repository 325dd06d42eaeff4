"""Class Boundary Refinement (CBR): multi-level features -> a class-boundary logit map.

Every level is embedded by 1x1 conv + GN + ReLU to ``channels`` (32 in IRNet), upsampled
to the common stride (4), concatenated and mapped to one logit by a 1x1 convolution;
sigmoid(logit) = B in [0, 1], 1 on boundaries. B sets the random walk's affinities.
"""
from typing import Dict, List

import torch
from detectron2.config import configurable
from detectron2.layers import ShapeSpec
from torch import nn

from .layers import conv1x1_gn_relu, resize_to
from .registry import CBR_HEAD_REGISTRY


@CBR_HEAD_REGISTRY.register_as("irnet")
class IRNetBoundaryHead(nn.Module):
    """The paper's CBR (``MODEL.SISEG.CBR.NAME: irnet``): logits at the finest level's stride."""

    @configurable
    def __init__(self, *, input_shape: Dict[str, ShapeSpec], in_features: List[str], channels: int):
        """
        Args:
            input_shape: backbone output shapes by name.
            in_features: the levels to use.
            channels: embedding width of each level.
        """
        super().__init__()
        self.in_features = list(in_features)
        self.finest = min(in_features, key=lambda f: input_shape[f].stride)
        self.stride = input_shape[self.finest].stride
        self.embed = nn.ModuleDict(
            {f: conv1x1_gn_relu(input_shape[f].channels, channels) for f in in_features}
        )
        self.predictor = nn.Conv2d(channels * len(in_features), 1, kernel_size=1)

    @classmethod
    def from_config(cls, cfg, input_shape, input_channels):
        s = cfg.MODEL.SISEG
        return {"input_shape": input_shape, "in_features": s.IN_FEATURES, "channels": s.CBR.CHANNELS}

    def forward(self, features: Dict[str, torch.Tensor], inputs: torch.Tensor = None) -> torch.Tensor:
        """Return boundary logits (N, 1, H/4, W/4)."""
        size = features[self.finest].shape[-2:]
        parts = [resize_to(self.embed[f](features[f]), size) for f in self.in_features]
        return self.predictor(torch.cat(parts, dim=1))
