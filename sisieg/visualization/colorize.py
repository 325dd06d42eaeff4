"""Turning SISeg's maps into RGB pictures (uint8 (H, W, 3) numpy arrays)."""
import numpy as np
import torch
from matplotlib.colors import hsv_to_rgb


def displacement_to_rgb(displacement: torch.Tensor, max_norm: float = None) -> np.ndarray:
    """(2, h, w) field (dy, dx) -> colour wheel: hue = direction, brightness = length."""
    dy, dx = displacement.detach().float().cpu().numpy()
    norm = np.hypot(dy, dx)
    scale = max_norm or max(float(np.percentile(norm, 99)), 1e-6)
    hue = (np.arctan2(dy, dx) / (2 * np.pi)) % 1.0
    hsv = np.stack([hue, np.ones_like(hue), np.clip(norm / scale, 0, 1)], axis=-1)
    return (hsv_to_rgb(hsv) * 255).astype(np.uint8)


def labels_to_rgb(labels: torch.Tensor, colors=None, seed: int = 0) -> np.ndarray:
    """(h, w) ids -> colours; 0 is black. ``colors`` (list of RGB) by id, else random."""
    ids = labels.detach().cpu().numpy().astype(np.int64)
    count = int(ids.max(initial=0)) + 1
    if colors is None:
        table = np.random.default_rng(seed).integers(60, 256, size=(max(count, 1), 3))
    else:
        table = np.zeros((max(count, len(colors)), 3), dtype=np.int64)
        table[: len(colors)] = np.asarray(colors)
    table[0] = 0
    return table[np.clip(ids, 0, len(table) - 1)].astype(np.uint8)


def gray_to_rgb(values: torch.Tensor) -> np.ndarray:
    """(h, w) values in [0, 1] -> grey levels."""
    v = (values.detach().float().cpu().clamp(0, 1).numpy() * 255).astype(np.uint8)
    return np.repeat(v[..., None], 3, axis=-1)
