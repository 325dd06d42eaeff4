"""Displacement refinement (Eq. 11): follow the field from every pixel to its endpoint."""
import torch


def sample_field(field: torch.Tensor, coords: torch.Tensor) -> torch.Tensor:
    """Bilinear samples (C, M) of ``field`` (C, h, w) at in-grid pixel coordinates (2, M) (y, x).

    Same values as ``F.grid_sample(..., align_corners=True)`` (pixel centres at integer
    coordinates) but computed on pixel coordinates directly, so a sample at an integer
    point is exactly that pixel's value: grid_sample's [-1, 1] round trip is off by ~1e-6 px,
    enough to pull zero-field pixels next to an object into it over 99 iterations.
    """
    height, width = field.shape[-2:]
    y, x = coords
    y0 = y.floor().clamp(0, height - 1)
    x0 = x.floor().clamp(0, width - 1)
    fy, fx = y - y0, x - x0
    y0, x0 = y0.long(), x0.long()
    y1, x1 = (y0 + 1).clamp(max=height - 1), (x0 + 1).clamp(max=width - 1)
    flat = field.reshape(field.shape[0], -1)
    top = flat[:, y0 * width + x0] * (1 - fx) + flat[:, y0 * width + x1] * fx
    bottom = flat[:, y1 * width + x0] * (1 - fx) + flat[:, y1 * width + x1] * fx
    return top * (1 - fy) + bottom * fy


def refine_displacement(
    displacement: torch.Tensor, iterations: int, mask: torch.Tensor = None
) -> torch.Tensor:
    """(2, h, w) endpoints c_T of c_{t+1} = c_t + D(c_t), c_0(x) = x, clipped to the grid.

    ``displacement`` (2, h, w) is (dy, dx) in pixels, sampled bilinearly at real c_t with
    the ``align_corners=True`` convention (pixel centres at integer coordinates).
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
        coords = torch.minimum(torch.clamp(coords + sample_field(field, coords), min=0), upper)
    if select is None:
        return coords.reshape(2, height, width)
    return endpoints.index_copy(1, select, coords).reshape(2, height, width)
