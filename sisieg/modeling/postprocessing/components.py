"""Connected components: of a mask (4- or 8-connected; scipy on CPU, label propagation in torch
on CUDA, both numbering the components 1..n by their first pixel in raster order), and of every
thing class of a thing map (the semantic components every grouping works inside).

``thing_map``: (h, w) long, 0 = background (or stuff), k = thing class k.
"""
from typing import Tuple

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage


def _scipy_components(mask: torch.Tensor, connectivity: int = 4):
    """scipy's labelling scans in raster order and keeps a merged component's earliest label,
    so its ids already follow the first pixels (test_connected_components_backends_agree)."""
    structure = np.ones((3, 3)) if connectivity == 8 else None  # None: scipy's 4-connectivity
    labels, n = ndimage.label(mask.cpu().numpy(), structure=structure)
    return torch.from_numpy(labels.astype(np.int64, copy=False)).to(mask.device), int(n)


def _torch_components(mask: torch.Tensor, connectivity: int = 4):
    """Min-index propagation over the 4 (8) neighbours with pointer jumping, until stable."""
    height, width = mask.shape
    big = height * width
    index = torch.arange(big, device=mask.device).reshape(height, width)
    labels = torch.where(mask, index, big)
    while True:
        padded = torch.nn.functional.pad(labels, (1, 1, 1, 1), value=big)
        shifted = [padded[:-2, 1:-1], padded[2:, 1:-1], padded[1:-1, :-2], padded[1:-1, 2:], labels]
        if connectivity == 8:
            shifted += [padded[:-2, :-2], padded[:-2, 2:], padded[2:, :-2], padded[2:, 2:]]
        neighbours = torch.stack(shifted)
        new = torch.where(mask, neighbours.min(0).values, big)
        new = torch.where(mask, new.reshape(-1)[new.clamp(max=big - 1)], big)  # pointer jump
        if torch.equal(new, labels):
            break
        labels = new
    # Sorted ids: a component's id is its first pixel in raster order; ``big`` comes last.
    ids, inverse = torch.unique(labels, return_inverse=True)
    return torch.where(mask, inverse + 1, 0), int((ids < big).sum())


def connected_components(mask: torch.Tensor, backend: str = "auto", connectivity: int = 4):
    """(labels (h, w) long, n): 0 outside ``mask`` (h, w) bool, components 1..n, 4-connected
    (or 8-connected: diagonal neighbours join).

    backend: "scipy", "torch", or "auto" (scipy for CPU tensors, torch otherwise).
    """
    if connectivity not in (4, 8):
        raise ValueError(f"connectivity must be 4 or 8, got {connectivity}")
    mask = mask.bool()
    if mask.numel() == 0:
        return torch.zeros(mask.shape, dtype=torch.long, device=mask.device), 0
    if backend == "auto":
        backend = "scipy" if mask.device.type == "cpu" else "torch"
    if backend == "scipy":
        return _scipy_components(mask, connectivity)
    if backend == "torch":
        return _torch_components(mask, connectivity)
    raise ValueError(f"unknown backend {backend!r}")


def semantic_components(thing_map: torch.Tensor, grow: int = 0) -> Tuple[torch.Tensor, torch.Tensor]:
    """Connected components of each thing class. Returns (component id map, 0 = none; the
    class of each component, index 0 = background). ``grow`` > 0: pixels of a class closer than
    about 2 x ``grow`` (their masks dilated by ``grow`` touch) are one component."""
    components = torch.zeros_like(thing_map)
    classes = [torch.zeros(1, dtype=torch.long, device=thing_map.device)]
    count = 0
    present = torch.nonzero(torch.bincount(thing_map.flatten()))[:, 0]
    for cls in present[present > 0].tolist():  # a loop over classes
        mask = thing_map == cls
        reach = mask
        if grow > 0:
            reach = F.max_pool2d(mask[None, None].float(), 2 * grow + 1, stride=1, padding=grow)[0, 0] > 0
        labels, n = connected_components(reach)
        components = torch.where(mask, labels + count, components)
        classes.append(torch.full((n,), cls, dtype=torch.long, device=thing_map.device))
        count += n
    return components, torch.cat(classes)
