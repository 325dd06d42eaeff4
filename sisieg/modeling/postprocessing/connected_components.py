"""4- (or 8-) connected component labelling: scipy on CPU, label propagation in torch on CUDA.

Both backends number the components 1..n by their first pixel in raster order.
"""
import numpy as np
import torch
from scipy import ndimage


def _scipy_components(mask: torch.Tensor, connectivity: int = 4):
    structure = np.ones((3, 3)) if connectivity == 8 else None  # None: scipy's 4-connectivity
    labels, n = ndimage.label(mask.cpu().numpy(), structure=structure)
    flat = labels.reshape(-1)
    ids, first = np.unique(flat, return_index=True)
    ids, first = ids[ids > 0], first[ids > 0]
    lookup = np.zeros(n + 1, dtype=np.int64)
    lookup[ids[np.argsort(first)]] = np.arange(1, len(ids) + 1)
    return torch.from_numpy(lookup[labels]).to(mask.device), int(len(ids))


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
