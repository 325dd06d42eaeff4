"""Pixel pairs on the feature grid: offsets, segment paths, pair labels and affinities.

A pair is (i, j = i + delta) for every offset delta of a half-disk (METHOD.md, Eq. 3-6).
Coordinates are (y, x); flat indices are ``y * width + x``. Index tensors are built once
per (height, width, device) and kept in a small LRU cache on the :class:`PairSampler`.
"""
from collections import OrderedDict

import torch

_CACHE_SIZE = 8  # (height, width, device) entries kept per sampler
_GATHER_BUDGET = 1 << 24  # elements of the (B, offsets, path, pairs) gather done at once


def half_disk_offsets(radius: int) -> torch.Tensor:
    """(N, 2) long (dy, dx): (0, x) for x = 1..r-1, then rows y = 1..r-1, |x| <= r-1, x²+y² < r²."""
    r = int(radius)
    offsets = [(0, x) for x in range(1, r)]
    offsets += [(y, x) for y in range(1, r) for x in range(1 - r, r) if x * x + y * y < r * r]
    return torch.tensor(offsets, dtype=torch.long).reshape(-1, 2)


def segment_path(dy: int, dx: int) -> torch.Tensor:
    """(L, 2) long: grid points at distance < 1 of the segment (0, 0)-(dy, dx), raster order.

    Exact integer test: the projection lies on the segment (0 <= p.d <= |d|²) and the
    distance to the line is < 1 (cross(p, d)² < |d|²); the two ends are always included.
    """
    dy, dx = int(dy), int(dx)
    ys = torch.arange(min(0, dy) - 1, max(0, dy) + 2)
    xs = torch.arange(min(0, dx) - 1, max(0, dx) + 2)
    p = torch.cartesian_prod(ys, xs)
    norm2 = dy * dy + dx * dx
    if norm2 == 0:
        return torch.zeros(1, 2, dtype=torch.long)
    dot = p[:, 0] * dy + p[:, 1] * dx
    cross = p[:, 0] * dx - p[:, 1] * dy
    keep = (dot >= 0) & (dot <= norm2) & (cross * cross < norm2)
    return p[keep]


class PairSampler:
    """Offsets of a radius, their segment paths and the flat index tensors of the pairs.

    Attributes:
        offsets: (N, 2) long (dy, dx); the half-disk of ``radius`` unless ``offsets`` is given.
        paths: (N, Lmax, 2) long path points, padded by repeating the path's first point.
        points: (U, 2) long, the distinct points of all paths.
        path_members: (N, Lmax) long, index into ``points`` of each entry of ``paths``.
    """

    def __init__(self, radius: int, offsets: torch.Tensor = None):
        self.radius = int(radius)
        self.offsets = half_disk_offsets(radius) if offsets is None else offsets.long().cpu()
        path_list = [segment_path(dy, dx) for dy, dx in self.offsets.tolist()]
        lmax = max((len(p) for p in path_list), default=1)
        self.paths = torch.stack(
            [torch.cat([p, p[:1].expand(lmax - len(p), 2)]) for p in path_list]
        ) if path_list else torch.zeros(0, 1, 2, dtype=torch.long)
        self.points, inverse = torch.unique(self.paths.reshape(-1, 2), dim=0, return_inverse=True)
        self.path_members = inverse.reshape(self.paths.shape[:2])
        self._cache = OrderedDict()

    def __len__(self):
        return len(self.offsets)

    def _cached(self, kind, height, width, device, build):
        key = (kind, int(height), int(width), str(torch.device(device)))
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        value = build()
        self._cache[key] = value
        if len(self._cache) > _CACHE_SIZE:
            self._cache.popitem(last=False)
        return value

    def _flat(self, points, width, device):
        return (points[:, 0] * width + points[:, 1]).to(device)

    def _sources(self, height, width, device):
        """(P,) flat indices of the pixels i with i + delta inside the grid for every offset."""
        lo = (-self.points.min(0).values).clamp(min=0).tolist()
        hi = self.points.max(0).values.clamp(min=0).tolist()
        ys = torch.arange(lo[0], max(lo[0], height - hi[0]), device=device)
        xs = torch.arange(lo[1], max(lo[1], width - hi[1]), device=device)
        return (ys[:, None] * width + xs[None, :]).reshape(-1)

    def index(self, height: int, width: int, device="cpu"):
        """(src (P,), dst (N, P)): flat indices of the sources and of i + delta per offset."""
        def build():
            src = self._sources(height, width, device)
            return src, src[None, :] + self._flat(self.offsets, width, device)[:, None]
        return self._cached("index", height, width, device, build)

    def point_index(self, height: int, width: int, device="cpu") -> torch.Tensor:
        """(U, P) flat indices of i + q for every distinct path point q (compact path form)."""
        def build():
            src = self.index(height, width, device)[0]
            return src[None, :] + self._flat(self.points, width, device)[:, None]
        return self._cached("points", height, width, device, build)

    def members(self, device="cpu") -> torch.Tensor:
        """``path_members`` on ``device`` (cached)."""
        return self._cached("members", 0, 0, device, lambda: self.path_members.to(device))


def pair_labels(labels: torch.Tensor, sampler: PairSampler, ignore_value: int = 255):
    """(pos_fg, pos_bg, neg), each bool (B, N, P), from labels (B, h, w) long.

    pos_fg: both valid, equal, non-zero; pos_bg: both 0; neg: both valid and different.
    """
    src, dst = sampler.index(labels.shape[-2], labels.shape[-1], labels.device)
    flat = labels.flatten(1)
    a, b = flat[:, src][:, None, :], flat[:, dst]
    valid = (a != ignore_value) & (b != ignore_value)
    same = a == b
    return valid & same & (a != 0), (a == 0) & (b == 0), valid & ~same


def path_max(values: torch.Tensor, path_members: torch.Tensor) -> torch.Tensor:
    """(B, N, P) max over each offset's path of ``values`` (B, U, P) given per distinct point.

    Gathers a few offsets at a time so the (B, n, Lmax, P) intermediate stays bounded.
    """
    batch, _, pairs = values.shape
    n, lmax = path_members.shape
    chunk = max(1, _GATHER_BUDGET // max(1, batch * lmax * pairs))
    parts = [values[:, path_members[k:k + chunk]].max(dim=2).values for k in range(0, n, chunk)]
    return torch.cat(parts, dim=1) if parts else values.new_zeros(batch, 0, pairs)


def pair_affinity(boundary: torch.Tensor, sampler: PairSampler) -> torch.Tensor:
    """(B, N, P) a_ij = 1 - max of boundary (B, h, w) in [0, 1] over the path from i to j."""
    points = sampler.point_index(boundary.shape[-2], boundary.shape[-1], boundary.device)
    values = boundary.flatten(1)[:, points]
    return 1 - path_max(values, sampler.members(boundary.device))
