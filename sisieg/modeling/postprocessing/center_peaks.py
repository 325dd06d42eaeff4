"""Centres from a centre heatmap (``MODEL.SISEG.CENTER``): its peaks, and the modes they give
the votes grouping.

The heatmap (probabilities on the centre head's grid) is resized to the displacement head's
grid; a peak is a pixel that is the largest within ``nms_radius`` input pixels and at least
``threshold`` (Panoptic-DeepLab's max-pool NMS; of equal maxima within that radius only the
last one in raster order stays, so a flat top gives one peak). A semantic component takes a
peak as one of its centres when at least ``min_mass`` input pixels of it vote within
``link_radius`` of that peak, nearer to it than to any other:
a peak no pixel of the component points at is not its instance. The pixels then join the
nearest of their component's centres by their votes, as with the modes of the votes.
"""
import torch
import torch.nn.functional as F

from .center_votes import Modes

_CHUNK = 1 << 22  # vote x peak distances computed at once


def find_peaks(heat: torch.Tensor, size, scale: float, threshold: float, nms_radius: int) -> torch.Tensor:
    """(K, 2) float peaks (y, x) of ``heat`` (h', w') probabilities, in the coordinates of a grid
    of ``size`` (h, w) whose pixels are ``scale`` times smaller (heatmap stride / field stride);
    ``nms_radius`` in pixels of that grid."""
    grid = F.interpolate(heat[None, None].float(), scale_factor=scale, mode="bilinear", align_corners=False)
    grid = grid[0, 0, : size[0], : size[1]]
    radius = max(int(nms_radius), 1)

    def window_max(x):
        return F.max_pool2d(x[None, None], 2 * radius + 1, stride=1, padding=radius)[0, 0]

    peaks = (grid == window_max(grid)) & (grid >= threshold)
    # A flat top holds several maxima: keep the one of largest index in its window.
    order = torch.arange(1, grid.numel() + 1, device=grid.device, dtype=torch.float64).view_as(grid)
    ranked = torch.where(peaks, order, 0.0)
    peaks &= ranked == window_max(ranked)
    return torch.nonzero(peaks).float()


def nearest_peak(endpoints: torch.Tensor, peaks: torch.Tensor):
    """(index (V,), distance (V,)) of the peak (K, 2) nearest to each of ``endpoints`` (2, V),
    in chunks of votes (bounded memory)."""
    index = torch.empty(endpoints.shape[1], dtype=torch.long, device=endpoints.device)
    distance = torch.empty(endpoints.shape[1], device=endpoints.device)
    chunk = max(1, _CHUNK // max(peaks.shape[0], 1))
    for start in range(0, endpoints.shape[1], chunk):  # chunks of votes, not a loop over pixels
        d, k = torch.cdist(endpoints[:, start:start + chunk].T, peaks).min(dim=1)
        index[start:start + chunk], distance[start:start + chunk] = k, d
    return index, distance


def modes_from_peaks(endpoints, component, peaks, stride: int, min_mass: float, link_radius: float) -> Modes:
    """The modes of the votes ``endpoints`` (2, V) (head-grid coordinates) of pixels of
    ``component`` (V,) that ``peaks`` (K, 2) give: one per (component, peak) pair holding
    ``min_mass`` input pixels that vote within ``link_radius`` input pixels of the peak, placed
    at the peak (so the pieces of one object in several components share its position)."""
    empty = Modes(endpoints.new_zeros(0, 2), component.new_zeros(0), component.new_zeros(0))
    if component.numel() == 0 or peaks.shape[0] == 0:
        return empty
    which, distance = nearest_peak(endpoints, peaks)
    near = distance * stride <= link_radius
    keys, counts = torch.unique(component[near] * peaks.shape[0] + which[near], return_counts=True)
    keys = keys[counts.float() * stride * stride >= min_mass]
    if keys.numel() == 0:
        return empty
    position = peaks[keys % peaks.shape[0]]
    return Modes(position, keys // peaks.shape[0], torch.arange(keys.numel(), device=keys.device))
