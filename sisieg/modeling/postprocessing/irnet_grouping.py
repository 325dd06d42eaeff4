"""IRNet's grouping (the paper's post-processing, ``MODEL.SISEG.GROUPING irnet``).

Centroid regions are the connected components of {|D| < tau} on the head grid (tau following
object scale); each pixel joins the region its refined point (refinement.py) lands in; groups
are split by the semantic components so that no instance joins unconnected regions.
docs/METHOD.md, section 8.
"""
from typing import Tuple

import torch

from .components import connected_components


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


def centroid_thresholds(
    components: torch.Tensor, relative: float, minimum: float, maximum: float
):
    """|D| threshold of the centroid regions, following object scale: ``relative`` x the
    equivalent-disk radius sqrt(area / pi) of the pixel's semantic component, clamped to
    [minimum, maximum] (feature pixels). ``relative`` <= 0: ``maximum`` everywhere (IRNet)."""
    if relative <= 0:
        return maximum
    area = torch.bincount(components.flatten()).float()[components]
    return (relative * torch.sqrt(area / torch.pi)).clamp(min=minimum, max=maximum)


def split_by_semantic_components(
    assignment: torch.Tensor, components: torch.Tensor, component_class: torch.Tensor
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Make every instance lie inside one connected region of one class.

    An instance is (centroid group x semantic component); a component that no pixel was
    assigned in becomes one instance, so no semantic region is lost. Unassigned pixels of
    other components stay 0 (the random walk decides them). ``components``,
    ``component_class``: from :func:`semantic_components`. Returns (instance map, 0 = none,
    1..n; class of each instance, index 0 = background).
    """
    num_components = int(component_class.numel()) - 1
    assigned = (assignment > 0) & (components > 0)
    key = assignment * (num_components + 1) + components
    has_instance = torch.zeros(num_components + 1, dtype=torch.bool, device=key.device)
    has_instance[components[assigned]] = True
    orphan = (components > 0) & ~has_instance[components]
    key = torch.where(orphan, components, torch.where(assigned, key, 0))
    unique_keys, instances = torch.unique(key, return_inverse=True)
    if unique_keys[0] != 0:  # no background pixel at all: ids must still start at 1
        instances = instances + 1
        unique_keys = torch.cat([unique_keys.new_zeros(1), unique_keys])
    instance_class = component_class[unique_keys % (num_components + 1)]
    instance_class[0] = 0
    return instances, instance_class


def majority_class(instances: torch.Tensor, thing_map: torch.Tensor, num_instances: int):
    """The most frequent thing class inside each instance (index 0 = background)."""
    num_classes = int(thing_map.max()) + 1
    counts = torch.bincount(
        (instances * num_classes + thing_map).flatten(), minlength=(num_instances + 1) * num_classes
    ).view(num_instances + 1, num_classes)
    counts[:, 0] = 0
    classes = counts.argmax(dim=1)
    classes[0] = 0
    return classes
