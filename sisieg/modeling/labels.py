"""Label-map helpers shared by training, the targets and inference: grids, lookups, masks.

A label map is an (H, W) or (N, H, W) long tensor of ids. The head grid has ``stride`` input
pixels a cell; head pixel j takes the label of input pixel s*j + s // 2 (nearest).
"""
from typing import Sequence

import torch
import torch.nn.functional as F


def downsample_labels(labels: torch.Tensor, size, stride: int) -> torch.Tensor:
    """(H, W) labels -> nearest labels on the head grid of ``size`` (h, w); pixels past the
    input (padding) are 0."""
    stride = int(stride)
    height, width = int(size[0]) * stride, int(size[1]) * stride
    padded = labels.new_zeros(height, width)
    h, w = min(labels.shape[0], height), min(labels.shape[1], width)
    padded[:h, :w] = labels[:h, :w]
    return padded[stride // 2::stride, stride // 2::stride].contiguous()


def downsample_batch(labels: torch.Tensor, size, stride: int) -> torch.Tensor:
    """(N, H, W) labels of a padded batch -> (N, h, w) on the head grid."""
    return torch.stack([downsample_labels(x, size, stride) for x in labels])


def pool_field(field: torch.Tensor, stride: int, coarse_stride: int) -> torch.Tensor:
    """(N, 2, h, w) displacement field (in pixels of ``stride``) averaged onto the coarser grid of
    ``coarse_stride`` and expressed in its pixels."""
    factor = int(coarse_stride) // int(stride)
    if factor <= 1:
        return field
    return F.avg_pool2d(field, factor) / factor


def upsample_scores(scores: torch.Tensor, size, stride: int) -> torch.Tensor:
    """(K, h, w) scores on the head grid -> (K, H, W) at the input resolution (bilinear)."""
    if int(stride) == 1:
        return scores[:, : size[0], : size[1]]
    full = F.interpolate(scores[None], scale_factor=int(stride), mode="bilinear", align_corners=False)[0]
    return full[:, : size[0], : size[1]]


def resize_labels(labels: torch.Tensor, size) -> torch.Tensor:
    """Nearest resize of an (H, W) label map to ``size``; the map itself when equal."""
    if tuple(labels.shape) == tuple(size):
        return labels
    return F.interpolate(labels[None, None].float(), size=tuple(size), mode="nearest")[0, 0].long()


def relabel_contiguous(ids: torch.Tensor) -> torch.Tensor:
    """Map the ids of a label map onto 0..n, keeping 0 as 0."""
    unique, inverse = torch.unique(ids, return_inverse=True)
    return inverse + 1 if unique[0] != 0 else inverse


def label_masks(labels: torch.Tensor, ids) -> torch.Tensor:
    """(H, W) ids -> (len(ids), H, W) bool masks of ``ids`` (an int n: ids 1..n), by one
    scatter of the labelled pixels (not a comparison of every pixel with every id)."""
    if isinstance(ids, int):
        ids = torch.arange(1, ids + 1, device=labels.device)
    largest = max(int(labels.max()) if labels.numel() else 0, int(ids.max()) if ids.numel() else 0)
    slot = torch.full((largest + 1,), -1, dtype=torch.long, device=labels.device)  # id -> mask index
    slot[ids] = torch.arange(ids.numel(), device=labels.device)
    flat = labels.flatten()
    where = torch.nonzero(slot[flat] >= 0)[:, 0]
    masks = torch.zeros(ids.numel(), flat.numel(), dtype=torch.bool, device=labels.device)
    masks[slot[flat[where]], where] = True
    return masks.view(ids.numel(), *labels.shape)


def label_boxes(labels: torch.Tensor, num: int) -> torch.Tensor:
    """(num, 4) boxes (x0, y0, x1, y1), as ``BitMasks.get_bounding_boxes`` gives them, of ids
    1..num of an (H, W) label map, by scatter over the pixels; an absent id gets zeros."""
    height, width = labels.shape
    ys = torch.arange(height, device=labels.device).view(-1, 1).expand(height, width).flatten()
    xs = torch.arange(width, device=labels.device).view(1, -1).expand(height, width).flatten()
    flat = labels.flatten()
    inside = flat > 0
    flat, ys, xs = flat[inside], ys[inside], xs[inside]
    low = torch.full((2, num + 1), max(height, width), device=labels.device, dtype=torch.long)
    high = torch.full((2, num + 1), -1, device=labels.device, dtype=torch.long)
    coords = torch.stack([xs, ys])
    low = low.scatter_reduce(1, flat.expand(2, -1), coords, "amin")
    high = high.scatter_reduce(1, flat.expand(2, -1), coords, "amax")
    boxes = torch.cat([low, high + 1], dim=0).t()[1:].float()
    return torch.where((high[:, 1:] >= 0).all(dim=0)[:, None], boxes, torch.zeros_like(boxes))


def mean_per_label(scores: torch.Tensor, labels: torch.Tensor, num: int, channels=None) -> torch.Tensor:
    """result[k] = mean over the pixels labelled k of ``scores[channels[k]]`` (C, H, W); by
    default ``channels[k] = k - 1`` (objectness: each instance its own score map). Index 0
    unused."""
    if num == 0:
        return scores.new_zeros(1)
    flat = labels.flatten()
    channel = (flat - 1).clamp(min=0) if channels is None else channels[flat]
    picked = scores.flatten(1).gather(0, channel[None])[0]
    sums = torch.zeros(num + 1, device=scores.device).index_add_(0, flat, picked)
    return sums / torch.bincount(flat, minlength=num + 1).clamp(min=1)


def thing_lookup(thing_semantic_ids: Sequence[int], num_semantic_classes: int, ignore_value: int) -> torch.Tensor:
    """Semantic id -> thing label (0 = background/stuff, k = thing class k-1, ignore kept)."""
    size = max(256, num_semantic_classes, ignore_value + 1, max(thing_semantic_ids, default=0) + 1)
    lut = torch.zeros(size, dtype=torch.long)
    lut[torch.tensor(list(thing_semantic_ids), dtype=torch.long)] = torch.arange(
        1, len(thing_semantic_ids) + 1
    )
    lut[ignore_value] = ignore_value
    return lut
