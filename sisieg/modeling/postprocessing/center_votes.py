"""Grouping by centre votes: lossless under a perfect field, and robust to a noisy one.

Every pixel votes for its instance's centre at ``pixel + D(pixel)`` (one step, Panoptic-DeepLab's
rule; more Euler steps for flows that stay inside objects). Votes are binned per semantic
component, the modes of the vote density are found by hill climbing (each occupied bin points
at the densest bin near it, pointer jumping to the top: mean-shift's idea, Cellpose's endpoint
clustering), and every pixel of the component goes to the nearest strong mode, at the input's
full resolution. Nothing assumes the centre lies inside its object (rings, crescents, occluded
parts) or on the head grid, and an instance never leaves its semantic component. A component
without a strong mode is one instance: no region of the semantic mask is lost.

Cost: sorting the votes (one per head-grid pixel) plus (2r+1)² look-ups per occupied bin, and
pixels x (most modes in one component) distances; no dense (instances, H, W) tensor.
"""
from dataclasses import dataclass
from typing import Callable, NamedTuple, Optional

import torch
import torch.nn.functional as F

from ..labels import downsample_labels
from .components import connected_components
from .refinement import sample_field

_CHUNK = 1 << 22  # pixel x mode distances computed at once


@dataclass(frozen=True)
class VoteSettings:
    """``MODEL.SISEG.VOTES``: see sisieg/config.py."""

    steps: int = 1
    bin_size: float = 1.0
    density_radius: int = 1
    climb_radius: int = 2
    min_mass: float = 16.0
    merge_radius: float = 1.0
    saddle_radius: int = 8
    saddle_ratio: float = 0.5


class Votes(NamedTuple):
    """The outcome of the grouping, for the output step and for pictures."""

    labels: torch.Tensor  # (H, W) long: instance ids 0..n at input resolution
    instance_class: torch.Tensor  # (n + 1,) long: thing class of each id, 0 for id 0
    objectness: torch.Tensor  # (n + 1,) float: how tightly each instance's votes meet its centre
    centres: torch.Tensor  # (M, 2) float: the strong modes, head-grid coordinates (y, x)
    endpoints: torch.Tensor  # (2, h, w) float: where each head-grid pixel votes


def head_grid(size, device) -> torch.Tensor:
    """(2, h, w) float coordinates (y, x) of the grid's pixels."""
    return torch.stack(torch.meshgrid(
        torch.arange(size[0], device=device, dtype=torch.float32),
        torch.arange(size[1], device=device, dtype=torch.float32),
        indexing="ij",
    ))


def follow(field: torch.Tensor, start: torch.Tensor, steps: int) -> torch.Tensor:
    """(2, M) endpoints after ``steps`` Euler steps c <- c + D(c) from ``start`` (2, M), the
    first step from the field values ``field`` already gives at the start (bilinear after)."""
    height, width = field.shape[-2:]
    upper = start.new_tensor([height - 1, width - 1])[:, None]
    coords = start
    for _ in range(max(int(steps), 0)):
        coords = torch.minimum((coords + sample_field(field, coords)).clamp(min=0), upper)
    return coords


def upsampled_field(displacement: torch.Tensor, foreground: torch.Tensor, stride: int, size):
    """(2, H, W) field at input resolution, head pixels, bilinear over foreground head pixels only
    (an object's border pixels are not pulled towards the background's zero field)."""
    if int(stride) == 1:
        return displacement[:, : size[0], : size[1]] * foreground[: size[0], : size[1]]
    weight = foreground.float()[None]
    both = torch.cat([displacement * weight, weight])[None]
    up = F.interpolate(both, scale_factor=int(stride), mode="bilinear", align_corners=False)[0]
    up = up[:, : size[0], : size[1]]
    return up[:2] / up[2:].clamp(min=1e-6) * (up[2:] > 1e-6)


def group_by_votes(
    displacement: torch.Tensor,
    components: torch.Tensor,
    component_class: torch.Tensor,
    stride: int,
    settings: VoteSettings = VoteSettings(),
    modes_of: Optional[Callable] = None,
) -> Votes:
    """Instances from a displacement field (2, h, w) (head pixels, bias removed) and the
    semantic components (H, W) of the input (0 none, 1..C; their classes ``component_class``
    (C + 1,)), see the module docstring. ``modes_of(endpoints (2, V), component (V,))`` -> ``Modes``
    finds the centres another way (a centre heatmap's peaks: center_peaks.py); default: the
    modes of the vote density."""
    size = components.shape
    small = downsample_labels(components, displacement.shape[-2:], stride)
    endpoints = follow(displacement, head_grid(small.shape, small.device).reshape(2, -1) + displacement.reshape(2, -1), settings.steps - 1)
    endpoints = endpoints.reshape(2, *small.shape)
    voters = small > 0
    if modes_of is None:
        modes = find_modes(endpoints[:, voters], small[voters], small.shape, stride, settings)
    else:
        modes = modes_of(endpoints[:, voters], small[voters])
    modes = merge_pieces(modes, components, component_class, stride, settings.merge_radius)
    field = upsampled_field(displacement, small > 0, stride, size)
    grid = (head_grid(size, components.device) + 0.5) / stride - 0.5  # input pixels, head coordinates
    pixels = components > 0
    start = grid[:, pixels] + field[:, pixels]
    ends = follow(displacement, start, settings.steps - 1)
    labels, instance_class, objectness = assign_to_modes(
        ends, components[pixels], modes, component_class, pixels
    )
    return Votes(labels, instance_class, objectness, modes.position, endpoints)


class Modes(NamedTuple):
    position: torch.Tensor  # (M, 2) float, head-grid coordinates
    component: torch.Tensor  # (M,) long
    instance: torch.Tensor = None  # (M,) long: modes of one instance share an id (merge_pieces)


def find_modes(endpoints, component, grid_size, stride, settings: VoteSettings) -> Modes:
    """The strong modes of the votes ``endpoints`` (2, V) cast by pixels of ``component`` (V,)."""
    empty = Modes(endpoints.new_zeros(0, 2), component.new_zeros(0), component.new_zeros(0))
    if component.numel() == 0:
        return empty
    bins = stride / float(settings.bin_size)  # bins per head pixel
    height = int((int(grid_size[0]) - 1) * bins) + 1
    width = int((int(grid_size[1]) - 1) * bins) + 1
    by = (endpoints[0] * bins).round().long().clamp(0, height - 1)
    bx = (endpoints[1] * bins).round().long().clamp(0, width - 1)
    keys, inverse, counts = torch.unique(
        (component * height + by) * width + bx, return_inverse=True, return_counts=True
    )
    key_y = (keys // width) % height
    key_x = keys % width
    density = window_sum(keys, counts, key_y, key_x, (height, width), settings.density_radius)
    root = climb(keys, density, key_y, key_x, (height, width), settings.climb_radius)
    if settings.saddle_ratio > 0:
        root = merge_over_saddles(keys, counts, density, key_y, key_x, (height, width), root, settings)
    # Mass and position of each mode: the votes of every bin that climbs to it.
    vote_root = root[inverse]
    votes = torch.bincount(vote_root, minlength=keys.numel()).float()
    sums = torch.zeros(keys.numel(), 2, device=endpoints.device).index_add_(0, vote_root, endpoints.T)
    is_root = root == torch.arange(keys.numel(), device=keys.device)
    strong = is_root & (votes * stride * stride >= settings.min_mass)  # mass in input pixels
    if not strong.any():
        return empty
    position, component = sums[strong] / votes[strong, None], keys[strong] // (height * width)
    return Modes(position, component, torch.arange(position.shape[0], device=position.device))


def merge_pieces(modes: Modes, components, component_class, stride, radius) -> Modes:
    """One instance for modes of different components of one class that agree on the centre
    (within ``radius`` input pixels) and lie in one 8-connected region of the foreground (all
    thing classes): the pieces of an object cut by an occluder of another class. Components
    apart on the background never join, so a field that points everything at one spot cannot
    merge separate objects."""
    num = modes.position.shape[0]
    if num < 2 or radius <= 0:
        return modes
    regions = foreground_regions(components, int(component_class.numel()) - 1)[modes.component]
    close = torch.cdist(modes.position, modes.position) * stride <= radius
    cls = component_class[modes.component]
    link = close & (cls[:, None] == cls[None]) & (regions[:, None] == regions[None])
    link |= torch.eye(num, dtype=torch.bool, device=link.device)
    instance = torch.arange(num, device=link.device)
    while True:  # min-label propagation over the links: connected groups of modes
        new = torch.where(link, instance[None], num).min(dim=1).values
        if torch.equal(new, instance):
            break
        instance = new
    return modes._replace(instance=torch.unique(instance, return_inverse=True)[1])


def foreground_regions(components: torch.Tensor, num: int) -> torch.Tensor:
    """(num + 1,) the 8-connected foreground region of each component 1..num (index 0 unused)."""
    regions, _ = connected_components(components > 0, connectivity=8)
    region_of = torch.zeros(num + 1, dtype=torch.long, device=components.device)
    region_of[components[components > 0]] = regions[components > 0]
    return region_of


def _neighbours(radius: int, device) -> torch.Tensor:
    r = int(radius)
    steps = torch.arange(-r, r + 1, device=device)
    return torch.cartesian_prod(steps, steps)  # (Q, 2) (dy, dx)


def _lookup(keys, key_y, key_x, offsets, size, table=None):
    """(Q, U) index into the sorted ``table`` (default ``keys``) of the bin at each of the
    ``offsets`` (Q, 2) from each bin of ``keys`` (U,) (same component), -1 where that bin is
    empty or off the grid: one vector search for all offsets (chunks of bins bound memory)."""
    table = keys if table is None else table
    if keys.numel() > _CHUNK // max(offsets.shape[0], 1):
        step = max(1, _CHUNK // max(offsets.shape[0], 1))
        parts = [_lookup(keys[i:i + step], key_y[i:i + step], key_x[i:i + step], offsets, size, table)
                 for i in range(0, keys.numel(), step)]  # chunks of bins, not a loop over pixels
        return torch.cat(parts, dim=1)
    height, width = size
    dy, dx = offsets[:, :1], offsets[:, 1:]
    y, x = key_y[None] + dy, key_x[None] + dx
    inside = (y >= 0) & (y < height) & (x >= 0) & (x < width)
    wanted = keys[None] + dy * width + dx
    position = torch.searchsorted(table, wanted.reshape(-1)).clamp(max=table.numel() - 1).view_as(wanted)
    return torch.where(inside & (table[position] == wanted), position, -1)


def window_sum(keys, counts, key_y, key_x, size, radius, table=None) -> torch.Tensor:
    """Votes in the (2r+1)² bins around each bin ``keys`` (occupied or not); ``counts`` are
    the votes of the occupied bins ``table`` (default: ``keys`` themselves)."""
    found = _lookup(keys, key_y, key_x, _neighbours(radius, keys.device), size, table)  # (Q, U)
    return torch.where(found >= 0, counts[found.clamp(min=0)], 0).sum(dim=0)


def climb(keys, density, key_y, key_x, size, radius) -> torch.Tensor:
    """(U,) the mode each occupied bin reaches by moving to the densest occupied bin within
    ``radius`` (ties: the later key) until none is denser: strictly uphill, so no cycle."""
    index = torch.arange(keys.numel(), device=keys.device)
    rank = density * (keys.numel() + 1) + index  # a strict total order, density first
    found = _lookup(keys, key_y, key_x, _neighbours(radius, keys.device), size)  # (Q, U)
    candidate = torch.where(found >= 0, rank[found.clamp(min=0)], -1)
    best, which = candidate.max(dim=0)  # ranks are distinct: one best neighbour (or itself)
    parent = torch.where(best > rank, found.gather(0, which[None])[0], index)
    while True:  # pointer jumping: O(log(path length)) vector steps
        jumped = parent[parent]
        if torch.equal(jumped, parent):
            return parent
        parent = jumped


def merge_over_saddles(keys, counts, density, key_y, key_x, size, root, settings: VoteSettings) -> torch.Tensor:
    """Join modes (of one component) less than ``saddle_radius`` bins apart when the density on
    the segment between them never falls below ``saddle_ratio`` x the lower peak: the spurious
    peaks of one noisy vote cloud merge, two objects' separate clouds (an empty gap) do not."""
    index = torch.arange(keys.numel(), device=keys.device)
    modes = index[root == index]
    if modes.numel() < 2:
        return root
    offsets = _neighbours(settings.saddle_radius, keys.device)
    offsets = offsets[(offsets[:, 0] > 0) | ((offsets[:, 0] == 0) & (offsets[:, 1] > 0))]  # each pair once
    found = _lookup(keys[modes], key_y[modes], key_x[modes], offsets, size, keys)  # (Q, M) bin index
    is_mode = torch.zeros_like(root, dtype=torch.bool)
    is_mode[modes] = True
    pair = (found >= 0) & is_mode[found.clamp(min=0)]
    q, m = torch.nonzero(pair, as_tuple=True)
    if q.numel() == 0:
        return root
    a, b = modes[m], found[q, m]
    steps = int(settings.saddle_radius) * 2
    t = torch.linspace(0, 1, steps + 1, device=keys.device)[1:-1]
    # Samples along every segment at once: (T, pairs) points, same component as the pair.
    offset = (offsets[q].float()[None] * t[:, None, None]).round().long()  # (T, pairs, 2)
    width = size[1]
    point = keys[a][None] + offset[..., 0] * width + offset[..., 1]
    value = window_sum(point.reshape(-1), counts, (key_y[a][None] + offset[..., 0]).reshape(-1),
                       (key_x[a][None] + offset[..., 1]).reshape(-1), size, settings.density_radius, keys)
    along = value.view(t.numel(), -1).float().min(dim=0).values  # t is not empty: radius >= 1 here
    low = torch.minimum(density[a], density[b]).float()
    join = along >= settings.saddle_ratio * low
    a, b = a[join], b[join]
    label = index.clone()
    while True:  # connected groups of joined modes, min-label propagation
        new = label.clone()
        new.scatter_reduce_(0, a, label[b], "amin")
        new.scatter_reduce_(0, b, label[a], "amin")
        new = new[new]
        if torch.equal(new, label):
            break
        label = new
    return label[root]


def assign_to_modes(ends, component, modes: Modes, component_class, pixels):
    """Each input pixel (``ends`` (2, P), its ``component`` (P,)) to the nearest mode of its
    component; components without a mode become one instance each. Returns (labels (H, W),
    class of each id (n + 1,), objectness (n + 1,))."""
    num_components = int(component_class.numel()) - 1
    device = ends.device
    order = torch.argsort(modes.component, stable=True)
    comp_sorted = modes.component[order]
    per_component = torch.bincount(comp_sorted, minlength=num_components + 1)
    first = torch.cumsum(per_component, 0) - per_component
    slot = torch.arange(order.numel(), device=device) - first[comp_sorted]
    kmax = int(per_component.max()) if order.numel() else 0
    table = torch.full((num_components + 1, max(kmax, 1), 2), float("inf"), device=device)
    mode_id = torch.full((num_components + 1, max(kmax, 1)), -1, dtype=torch.long, device=device)
    table[comp_sorted, slot] = modes.position[order]
    mode_id[comp_sorted, slot] = order
    # Pixels of components with at most one mode need no search: slot 0 (inf if no mode).
    distance = ((table[component, 0] - ends.T) ** 2).sum(-1)
    nearest = mode_id[component, 0]
    several = torch.nonzero(per_component[component] > 1)[:, 0]
    chunk = max(1, _CHUNK // max(kmax, 1))
    for start in range(0, several.numel(), chunk):  # bounded memory, not a loop over objects
        index = several[start:start + chunk]
        c = component[index]
        d2 = ((table[c] - ends[:, index].T[:, None]) ** 2).sum(-1)  # (p, kmax)
        best, k = d2.min(dim=1)
        nearest[index] = mode_id[c, k]
        distance[index] = best
    # Ids: one per instance of modes, then one per component that has none.
    num_instances = int(modes.instance.max()) + 1 if modes.instance.numel() else 0
    orphan = per_component == 0
    orphan[0] = False
    orphan_id = torch.cumsum(orphan.long(), 0) + num_instances
    instance_of = torch.cat([modes.instance, modes.instance.new_zeros(1)])  # [-1]: no mode
    pixel_id = torch.where(nearest >= 0, instance_of[nearest] + 1, orphan_id[component])
    closeness = torch.where(nearest >= 0, torch.exp(-0.5 * distance.clamp(max=50.0)), 1.0)
    used = torch.bincount(pixel_id) > 0  # modes no pixel chose go: ids renumbered 1..num
    pixel_id = torch.cumsum(used.long(), 0)[pixel_id]
    num = int(used.sum())
    labels = torch.zeros(pixels.shape, dtype=torch.long, device=device)
    labels[pixels] = pixel_id
    instance_class = torch.zeros(num + 1, dtype=torch.long, device=device)
    instance_class[pixel_id] = component_class[component]
    count = torch.bincount(pixel_id, minlength=num + 1).clamp(min=1)
    objectness = torch.zeros(num + 1, device=device).index_add_(0, pixel_id, closeness) / count
    return labels, instance_class, objectness
