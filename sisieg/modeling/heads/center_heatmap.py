"""A centre heatmap head (``MODEL.SISEG.CENTER.NAME: heatmap``), its targets and its loss.

Panoptic-DeepLab's centre heatmap on SISeg's backbone. Without it the votes grouping finds
the centres as the modes of the votes, so an instance is found only where its votes meet
apart from its neighbour's; on the embedded val the trained field with the ground-truth
centres in place of those modes gains +4.8 AP / +6.8 touching (project page). With it the
centres are the heatmap's peaks, and every pixel still joins the nearest one by its vote.

The head fuses the backbone levels as the DFM does (its own IRNet fusion at stride 4), then a
3x3 convolution and a 1x1 predictor give one logit per pixel: sigmoid = how likely an
instance's centre lies there. Targets are CenterNet's: a Gaussian of ``sigma`` input pixels
around each centroid (the maximum where two meet), 1 at the grid pixel nearest to it; the
loss is CenterNet's penalty-reduced focal loss, averaged over the centres.
"""
import math
from typing import Dict

import torch
import torch.nn.functional as F
from detectron2.config import configurable
from torch import nn

from ..targets import batch_keys, centroids
from .irnet_displacement import IRNetDisplacementHead
from .layers import conv3x3_gn_relu
from .registry import CENTER_HEAD_REGISTRY

_FOCAL_ALPHA = 2.0  # CenterNet's focusing power on the predicted probability
_FOCAL_BETA = 4.0  # ... and its reduction of the penalty near a centre, (1 - target)^beta
_REACH = 3.0  # a centre's Gaussian is drawn out to this many sigmas


@CENTER_HEAD_REGISTRY.register_as("heatmap")
class CenterHeatmapHead(nn.Module):
    @configurable
    def __init__(self, *, context: IRNetDisplacementHead, channels: int, sigma: float):
        """
        Args:
            context: a multi-level fusion (its own parameters) whose ``fused`` features feed the head.
            channels: width of the 3x3 layer before the predictor.
            sigma: standard deviation of the target Gaussians, input pixels.
        """
        super().__init__()
        self.context = context
        self.stride = context.stride
        self.sigma = float(sigma)
        self.refine = conv3x3_gn_relu(context.out_channels, channels)
        self.predictor = nn.Conv2d(channels, 1, kernel_size=1)
        # Start from a low centre probability everywhere (CenterNet's bias), so the focal loss
        # does not begin with every pixel a confident centre.
        nn.init.constant_(self.predictor.bias, -math.log((1 - 0.01) / 0.01))

    @classmethod
    def from_config(cls, cfg, input_shape, input_channels):
        c = cfg.MODEL.SISEG.CENTER
        return {
            "context": IRNetDisplacementHead(cfg, input_shape, input_channels),
            "channels": c.CHANNELS,
            "sigma": c.SIGMA,
        }

    def forward(self, features: Dict[str, torch.Tensor], inputs: torch.Tensor = None) -> torch.Tensor:
        """(N, 1, H/s, W/s) centre logits."""
        return self.predictor(self.refine(self.context.fused(features)))

    def targets(self, instances: torch.Tensor, size):
        """(target (N, h, w), ignore (N, h, w)) on this head's grid of ``size`` (h, w) for the ids
        ``instances`` (N, H, W) at input resolution (0 none, > 0 ids, < 0 unknown): what a perfect
        head outputs (``heatmap_targets``)."""
        return heatmap_targets(instances, size, self.stride, self.sigma)

    def losses(self, logits: torch.Tensor, instances: torch.Tensor) -> torch.Tensor:
        """The focal loss of ``logits`` (N, 1, h, w) against the targets of ``instances``."""
        return center_focal_loss(logits[:, 0].float(), *self.targets(instances, logits.shape[-2:]))


def heatmap_targets(instances: torch.Tensor, size, stride: int, sigma: float):
    """(target (N, h, w) float, ignore (N, h, w) bool) on the grid of ``size`` (h, w) with ``stride``
    input pixels a pixel, for ids ``instances`` (N, H, W): each instance's Gaussian of ``sigma``
    input pixels around its centroid (the maximum of overlapping ones) and exactly 1 at the grid
    pixel nearest to the centroid. Unknown pixels (ids < 0) and the pixels within the Gaussians'
    reach of them are ignored: an unlabelled object's centre is not known to be absent.

    Each centre writes a (2r+1)² window of the grid (r = its reach in grid pixels), so the cost
    is centres x window, never centres x image."""
    batch = instances.shape[0]
    height, width = int(size[0]), int(size[1])
    stride = int(stride)
    table = centroids(instances)  # (N, M + 1, 2), input pixels
    keys, slots = batch_keys(instances)
    present = torch.bincount(keys, minlength=batch * slots).view(batch, slots) > 0
    present[:, 0] = False
    image, ident = torch.nonzero(present, as_tuple=True)
    centre = (table[image, ident] - (stride - 1) / 2) / stride  # grid coordinates
    reach = max(1, math.ceil(_REACH * sigma / stride))
    steps = torch.arange(-reach, reach + 1, device=instances.device)
    window = torch.cartesian_prod(steps, steps)  # (Q, 2)
    cell = centre.round().long()[:, None] + window[None]  # (K, Q, 2)
    inside = (cell[..., 0] >= 0) & (cell[..., 0] < height) & (cell[..., 1] >= 0) & (cell[..., 1] < width)
    distance2 = ((cell.float() - centre[:, None]) * stride).pow(2).sum(-1)
    value = torch.exp(-distance2 / (2 * sigma * sigma))
    value = torch.where(window.abs().sum(-1)[None] == 0, 1.0, value)  # the nearest pixel: exactly 1
    flat = (image[:, None] * height + cell[..., 0]) * width + cell[..., 1]
    target = torch.zeros(batch * height * width, device=instances.device)
    target.scatter_reduce_(0, flat[inside], value[inside], "amax")
    unknown = F.max_pool2d((instances < 0).float()[:, None], stride, stride, ceil_mode=True)[:, :, :height, :width]
    ignore = F.max_pool2d(unknown, 2 * reach + 1, stride=1, padding=reach)[:, 0] > 0
    return target.view(batch, height, width), ignore


def center_focal_loss(logits: torch.Tensor, target: torch.Tensor, ignore: torch.Tensor) -> torch.Tensor:
    """CenterNet's penalty-reduced focal loss of ``logits`` (N, h, w) against ``target`` (1 at
    centres, Gaussian around them, 0 elsewhere), over the pixels not ``ignore``d, summed and
    divided by the number of centres (at least one)."""
    keep = ~ignore
    centre = (target >= 1) & keep
    other = (target < 1) & keep
    log_p = F.logsigmoid(logits)
    log_not_p = F.logsigmoid(-logits)
    p = log_p.exp()
    positive = ((1 - p).pow(_FOCAL_ALPHA) * log_p)[centre].sum()
    negative = ((1 - target).pow(_FOCAL_BETA) * p.pow(_FOCAL_ALPHA) * log_not_p)[other].sum()
    return -(positive + negative) / centre.sum().clamp(min=1)
