"""What perfect heads would output: targets computed from ground-truth instance ids.

Used twice, so training and the ceiling agree exactly: the instance-supervised losses regress
the heads onto them, and ``MODEL.SISEG.ORACLE_HEADS`` puts them in place of the heads' outputs
at evaluation (the ceiling of everything after the heads).

Grids: the heads predict on a grid of ``stride`` input pixels; head pixel j covers input
pixels [s*j, s*j + s) and its centre is at input coordinate s*j + (s - 1) / 2. Its label is the
one of input pixel s*j + s // 2 (nearest, as ``sisieg.modeling.labels.downsample_labels``).
Centroids come from the full-resolution instance, so they are exact whatever the stride.
"""
from typing import NamedTuple

import torch
import torch.nn.functional as F

from .labels import downsample_labels


class HeadTargets(NamedTuple):
    instances: torch.Tensor  # (N, h, w) long: instance ids on the head grid (0 none, -1 unknown)
    offsets: torch.Tensor  # (N, 2, h, w) float: (dy, dx) to the instance centroid, head pixels
    boundary: torch.Tensor  # (N, h, w) float: 1 where a 4-neighbour has another id


def batch_keys(instances: torch.Tensor):
    """``(keys, size)``: for ids ``instances`` (N, ...) (ids < 1 count as 0), each pixel's
    id + image index x size, flattened, where size = largest id + 1: one key per (image, id),
    so one bincount / index_add gives per-instance sums over the whole batch."""
    ids = instances.clamp(min=0)
    size = int(ids.max()) + 1 if ids.numel() else 1
    offset = torch.arange(ids.shape[0], device=ids.device).view(-1, *([1] * (ids.dim() - 1))) * size
    return (ids + offset).reshape(-1), size


def centroids(instances: torch.Tensor) -> torch.Tensor:
    """(N, M + 1, 2) float centroids (y, x) of ids 0..M of ``instances`` (N, H, W) (ids < 1:
    none; their rows and those of absent ids are 0), input pixel coordinates."""
    batch, height, width = instances.shape
    ids = instances.clamp(min=0)
    flat, size = batch_keys(ids)
    ys = torch.arange(height, device=ids.device, dtype=torch.float32).view(1, -1, 1).expand_as(ids)
    xs = torch.arange(width, device=ids.device, dtype=torch.float32).view(1, 1, -1).expand_as(ids)
    coords = torch.stack([ys.reshape(-1), xs.reshape(-1)], dim=1)
    sums = torch.zeros(batch * size, 2, device=ids.device).index_add_(0, flat, coords)
    count = torch.bincount(flat, minlength=batch * size).clamp(min=1)[:, None]
    return (sums / count).view(batch, size, 2)


def head_targets(instances: torch.Tensor, head_size, stride: int) -> HeadTargets:
    """Targets on the head grid of ``head_size`` (h, w) for ids ``instances`` (N, H, W) at
    input resolution (0 none, -1 unknown; H <= stride * h, the rest is padding)."""
    stride = int(stride)
    small = torch.stack([downsample_labels(x, head_size, stride) for x in instances])
    centre = torch.stack(torch.meshgrid(
        torch.arange(head_size[0], device=small.device, dtype=torch.float32),
        torch.arange(head_size[1], device=small.device, dtype=torch.float32),
        indexing="ij",
    )) * stride + (stride - 1) / 2  # (2, h, w): head pixel centres, input coordinates
    table = centroids(instances)  # (N, M + 1, 2)
    index = small.clamp(min=0).flatten(1)[..., None].expand(-1, -1, 2)
    target = table.gather(1, index).permute(0, 2, 1).reshape(small.shape[0], 2, *small.shape[1:])
    offsets = torch.where((small > 0)[:, None], (target - centre) / stride, torch.zeros_like(target))
    return HeadTargets(small, offsets, boundary_of(small))


def boundary_of(ids: torch.Tensor) -> torch.Tensor:
    """(N, h, w) float: 1 at pixels of ``ids`` (N, h, w) with a 4-neighbour of another id
    (the grid's edge is no boundary)."""
    padded = F.pad(ids[:, None].float(), (1, 1, 1, 1), mode="replicate")[:, 0]
    centre = padded[:, 1:-1, 1:-1]
    differs = torch.zeros_like(centre, dtype=torch.bool)
    for shifted in (padded[:, :-2, 1:-1], padded[:, 2:, 1:-1], padded[:, 1:-1, :-2], padded[:, 1:-1, 2:]):
        differs |= shifted != centre
    return differs.float()
