"""Centroid regions of a displacement field and the assignment of pixels to them."""
import torch

from .connected_components import connected_components


def find_centroid_regions(displacement: torch.Tensor, foreground: torch.Tensor, threshold: float):
    """(labels (h, w) long, n): 4-connected components of {foreground & |D| < threshold}."""
    small = displacement.float().norm(dim=0) < threshold
    return connected_components(foreground.bool() & small)


def assign_to_centroids(
    endpoints: torch.Tensor, centroid_labels: torch.Tensor, foreground: torch.Tensor
) -> torch.Tensor:
    """(h, w) long: the centroid label at round(endpoint) of each foreground pixel, else 0."""
    height, width = centroid_labels.shape
    y = endpoints[0].round().long().clamp(0, height - 1)
    x = endpoints[1].round().long().clamp(0, width - 1)
    return torch.where(foreground.bool(), centroid_labels[y, x], 0)
