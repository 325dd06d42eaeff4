"""Boundary-aware random walk (Eq. 17-18) as a neighbourhood propagation, never a dense matrix."""
import functools

import torch
import torch.nn.functional as F

from ..pair_sampling import PairSampler, half_disk_offsets, pair_affinity


def full_disk_offsets(radius: int) -> torch.Tensor:
    """(1 + 2N, 2) long: the self-loop (0, 0), the half-disk offsets, then their negatives."""
    half = half_disk_offsets(radius)
    return torch.cat([half.new_zeros(1, 2), half, -half])


@functools.lru_cache(maxsize=4)
def _full_disk_sampler(radius: int) -> PairSampler:
    return PairSampler(radius, full_disk_offsets(radius))


def neighbour_affinity(
    boundary: torch.Tensor, radius: int, beta: float, semantic: torch.Tensor = None
):
    """(weights (Q, h, w), offsets (Q, 2)): row-normalised transition weights of the walk.

    A_ij = (1 - max_{k in path(i, j)} B_k) ** beta for |j - i|² < r² with j inside the grid
    (0 outside, and 0 where ``semantic`` (h, w) differs between i and j); self-loop 1.
    weights[q, i] = A_{i, i + offsets[q]} / sum_j A_ij. Q = 69 for r = 5, offsets[0] = (0, 0).
    """
    sampler = _full_disk_sampler(int(radius))
    height, width = boundary.shape
    pad = int(radius) - 1
    # Every path point of an in-grid pair is in the grid; a pair that leaves it is masked below.
    padded = F.pad(boundary.float()[None], (pad, pad, pad, pad), value=1.0)
    affinity = pair_affinity(padded, sampler)[0].clamp(min=0) ** beta  # (Q, h*w), raster order
    key = torch.zeros_like(boundary, dtype=torch.long) if semantic is None else semantic.long()
    sentinel = int(key.min()) - 1 if key.numel() else -1
    padded_key = F.pad(key[None], (pad, pad, pad, pad), value=sentinel)[0].reshape(-1)
    src, dst = sampler.index(height + 2 * pad, width + 2 * pad, boundary.device)
    affinity = torch.where(padded_key[dst] == padded_key[src][None], affinity, 0)
    affinity[0] = 1.0
    weights = affinity / affinity.sum(0, keepdim=True)
    return weights.reshape(-1, height, width), sampler.offsets.to(boundary.device)


def random_walk(
    seeds: torch.Tensor, weights: torch.Tensor, offsets: torch.Tensor, steps: int, tol: float = 0.0
) -> torch.Tensor:
    """(K, h, w): ``steps`` times v(i) <- sum_q weights[q, i] * v(i + offsets[q]).

    Terms outside the grid count as 0. With tol > 0 the walk stops once no value moves by
    tol or more in a step; the walk is an averaging, so a stop at step t is within
    (steps - t) * tol of the full walk (max norm).
    """
    num, height, width = seeds.shape
    if len(offsets) == 0 or steps <= 0:
        return seeds.to(weights.dtype).clone()
    pad = int(offsets.abs().max())
    buffer = seeds.new_zeros(num, height + 2 * pad, width + 2 * pad, dtype=weights.dtype)
    current = buffer[:, pad:pad + height, pad:pad + width]
    current.copy_(seeds)
    # Views into the zero-padded buffer: they follow its in-place updates.
    views = [buffer[:, pad + dy:pad + dy + height, pad + dx:pad + dx + width]
             for dy, dx in offsets.tolist()]
    for _ in range(int(steps)):
        new = views[0] * weights[0]
        for weight, view in zip(weights[1:], views[1:]):
            new.addcmul_(view, weight)
        converged = tol > 0 and bool((new - current).abs().max() < tol)
        current.copy_(new)
        if converged:
            break
    return current.clone()
