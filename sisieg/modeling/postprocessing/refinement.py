"""Displacement refinement (Eq. 11): follow the field from every pixel to its endpoint."""
import torch
import torch.nn.functional as F


def _sample(field: torch.Tensor, coords: torch.Tensor) -> torch.Tensor:
    """Bilinear samples (C, M) of ``field`` (C, h, w) at pixel coordinates (2, M) (y, x)."""
    height, width = field.shape[-2:]
    scale = coords.new_tensor([2.0 / max(width - 1, 1), 2.0 / max(height - 1, 1)])
    grid = coords.flip(0).t() * scale - 1  # (M, 2) as (x, y) in [-1, 1], align_corners=True
    out = F.grid_sample(field[None], grid[None, None], align_corners=True, padding_mode="border")
    return out[0, :, 0]


def refine_displacement(
    displacement: torch.Tensor, iterations: int, mask: torch.Tensor = None
) -> torch.Tensor:
    """(2, h, w) endpoints c_T of c_{t+1} = c_t + D(c_t), c_0(x) = x, clipped to the grid.

    ``displacement`` (2, h, w) is (dy, dx) in pixels, sampled bilinearly at real c_t.
    With a bool ``mask`` (h, w) only those pixels move; the others keep their own coordinates.
    """
    field = displacement.float()
    height, width = field.shape[-2:]
    ys, xs = torch.meshgrid(
        torch.arange(height, device=field.device, dtype=field.dtype),
        torch.arange(width, device=field.device, dtype=field.dtype),
        indexing="ij",
    )
    endpoints = torch.stack([ys, xs]).reshape(2, -1)
    select = None if mask is None else mask.reshape(-1).nonzero()[:, 0]
    coords = endpoints if select is None else endpoints[:, select]
    upper = coords.new_tensor([height - 1, width - 1])[:, None]
    for _ in range(int(iterations)):
        coords = torch.minimum(torch.clamp(coords + _sample(field, coords), min=0), upper)
    if select is None:
        return coords.reshape(2, height, width)
    return endpoints.index_copy(1, select, coords).reshape(2, height, width)
