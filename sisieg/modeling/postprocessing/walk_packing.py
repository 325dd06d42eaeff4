"""Packing the random walk's instances into a few channels, exactly.

The walk costs steps x offsets x channels x pixels, one channel per instance: crowded images
pay for every instance. Inside the semantic mask (``WITHIN_SEMANTIC_REGION``) a walk moves only
between pixels of its class closer than the walk radius, so it never leaves the "walk region"
it starts in. Instances whose regions differ cannot exchange score: they share a channel, and
each one's scores are read back from its channel inside its own regions. The result equals
the one-channel-per-instance walk; the channel count is the most instances one region holds.
"""
from typing import Tuple

import torch

from .components import semantic_components


def walk_regions(thing_map: torch.Tensor, radius: int) -> torch.Tensor:
    """(h, w) ids, 0 off the things: pixels of one class joined when a walk step of
    ``radius`` can link them (components of the class mask dilated by ceil(radius / 2))."""
    return semantic_components(thing_map, grow=(int(radius) + 1) // 2)[0]


def channel_assignment(instances: torch.Tensor, num: int, regions: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """(channel of each instance 1..num (num,), incidence (num, R + 1) bool: the walk regions
    each instance touches). Instances sharing a region get different channels (greedy)."""
    num_regions = int(regions.max()) + 1
    inside = instances > 0
    pairs = torch.unique(instances[inside] * num_regions + regions[inside])
    incidence = torch.zeros(num + 1, num_regions, dtype=torch.bool, device=instances.device)
    incidence[pairs // num_regions, pairs % num_regions] = True
    incidence = incidence[1:]
    conflict = (incidence.float() @ incidence.float().T) > 0  # (num, num): share a region
    channel = torch.full((num,), -1, dtype=torch.long, device=instances.device)
    for k in range(num):  # a loop over instances, each a vector step
        taken = torch.unique(channel[conflict[k] & (channel >= 0)])
        free = torch.nonzero(~torch.isin(torch.arange(len(taken) + 1, device=channel.device), taken))
        channel[k] = free[0, 0]
    return channel, incidence


def packed_seeds(seeds: torch.Tensor, instances: torch.Tensor, thing_map: torch.Tensor, radius: int):
    """(packed seeds (C, h, w), channel (K,), member (K, h, w) bool) for ``seeds`` (K, h, w)
    of the instances 1..K of ``instances`` (h, w), walking inside ``thing_map``'s classes."""
    regions = walk_regions(thing_map, radius)
    channel, incidence = channel_assignment(instances, seeds.shape[0], regions)
    packed = seeds.new_zeros(int(channel.max()) + 1, *seeds.shape[1:]).index_add_(0, channel, seeds)
    return packed, channel, incidence[:, regions]


def unpack(walked: torch.Tensor, channel: torch.Tensor, member: torch.Tensor) -> torch.Tensor:
    """(K, h, w): each instance's scores, read from its channel inside its regions."""
    return walked[channel] * member
