"""Test-time augmentation of the heads (``MODEL.SISEG.INFERENCE.FIELD_AUGMENTATIONS``).

The network input is flipped and / or transposed, the heads run on each version, and their
outputs are mapped back and averaged. A displacement field is a vector field, so mapping it
back also turns its vectors: a left-right flip negates dx, an up-down flip dy, a transpose
swaps (dy, dx). The transforms are the 8 symmetries of the square (the dihedral group):
1 = none, 2 = + left-right flip, 4 = + up-down flips, 8 = + transposes. The heads are trained
with flips and turns of the pasted objects, so each version is a fair second opinion, and
their average cancels part of the field's error where it is not systematic.
"""
from typing import Callable, Tuple

import torch

from ..errors import ConfigError

CHOICES = (1, 2, 4, 8)


def check_count(count: int) -> int:
    if int(count) not in CHOICES:
        raise ConfigError(f"MODEL.SISEG.INFERENCE.FIELD_AUGMENTATIONS must be one of {CHOICES}, got {count}")
    return int(count)


def transform(x: torch.Tensor, k: int) -> torch.Tensor:
    """Symmetry ``k`` (0..7) of maps (..., H, W): bit 2 transposes, then bit 0 flips left-right
    and bit 1 up-down."""
    if k & 4:
        x = x.transpose(-1, -2)
    if k & 1:
        x = x.flip(-1)
    if k & 2:
        x = x.flip(-2)
    return x


def transform_field(field: torch.Tensor, k: int) -> torch.Tensor:
    """The field (N, 2, H, W), (dy, dx), of the image transformed by symmetry ``k``: positions
    move as in ``transform`` and the vectors turn with them."""
    if k & 4:
        field = field.transpose(-1, -2)[:, [1, 0]]
    if k & 1:
        field = field.flip(-1) * field.new_tensor([1.0, -1.0]).view(1, 2, 1, 1)
    if k & 2:
        field = field.flip(-2) * field.new_tensor([-1.0, 1.0]).view(1, 2, 1, 1)
    return field


def restore_field(field: torch.Tensor, k: int) -> torch.Tensor:
    """Inverse of ``transform_field``: the field of the transformed image back on the original."""
    if k & 2:
        field = field.flip(-2) * field.new_tensor([-1.0, 1.0]).view(1, 2, 1, 1)
    if k & 1:
        field = field.flip(-1) * field.new_tensor([1.0, -1.0]).view(1, 2, 1, 1)
    if k & 4:
        field = field.transpose(-1, -2)[:, [1, 0]]
    return field


def restore(x: torch.Tensor, k: int) -> torch.Tensor:
    """Inverse of ``transform`` for maps (..., H, W)."""
    if k & 2:
        x = x.flip(-2)
    if k & 1:
        x = x.flip(-1)
    if k & 4:
        x = x.transpose(-1, -2)
    return x


def averaged_heads(heads: Callable, inputs: Tuple[torch.Tensor, ...], count: int):
    """Mean outputs of ``heads(*inputs)`` over the first ``count`` symmetries: ``inputs`` are padded
    maps (N, C, H, W) or None; ``heads`` returns a field (N, 2, h, w), turned back as a field, then
    maps (N, C, h', w') or None (a head the model lacks), each on the transformed grid."""
    total = None
    for k in range(count):  # a loop over at most 8 symmetries, each a batched forward
        field, *maps = heads(*[None if x is None else transform(x, k) for x in inputs])
        restored = [restore_field(field, k)] + [None if m is None else restore(m, k) for m in maps]
        total = restored if total is None else [None if a is None else a + b for a, b in zip(total, restored)]
    return tuple(None if t is None else t / count for t in total)
