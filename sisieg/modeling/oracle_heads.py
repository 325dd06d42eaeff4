"""Perfect heads: the targets of the ground-truth instances in place of the heads' outputs.

``MODEL.SISEG.ORACLE_HEADS True`` at evaluation measures the ceiling of everything after the
heads (grouping, walk, output) on any dataset with instance annotations, without weights.
``MODEL.SISEG.ORACLE`` degrades them for the robustness curve: Gaussian noise on the field,
a blurred or missing boundary map.
"""
import zlib
from typing import List

import torch
import torch.nn.functional as F

from ..errors import ConfigError, InputError
from .targets import head_targets

BOUNDARY_MODES = ("perfect", "blurred", "missing")


class OracleHeads:
    def __init__(self, noise: float = 0.0, boundary: str = "perfect", seed: int = 0):
        """
        Args:
            noise: standard deviation, in input pixels, of i.i.d. Gaussian noise on the field
                (on each head pixel: noise / stride head pixels, the same size at any stride).
            boundary: "perfect", "blurred" (two 3x3 box filters) or "missing" (all 0).
            seed: noise seed; each image draws from this + a hash of its file name.
        """
        if boundary not in BOUNDARY_MODES:
            raise ConfigError(f"MODEL.SISEG.ORACLE.BOUNDARY must be one of {BOUNDARY_MODES}, got {boundary!r}")
        self.noise = float(noise)
        self.boundary = boundary
        self.seed = int(seed)

    @classmethod
    def from_config(cls, cfg) -> "OracleHeads":
        o = cfg.MODEL.SISEG.ORACLE
        return cls(o.NOISE, o.BOUNDARY, o.SEED)

    def __call__(self, batched_inputs: List[dict], head_size, stride: int, device):
        """(displacement (N, 2, h, w), boundary (N, h, w)) on the head grid of ``head_size``."""
        ids = torch.zeros(len(batched_inputs), head_size[0] * stride, head_size[1] * stride,
                          dtype=torch.long, device=device)
        for k, x in enumerate(batched_inputs):  # a loop over images
            if "instance_ids" not in x:
                raise InputError(
                    f"MODEL.SISEG.ORACLE_HEADS needs ground-truth instances, but {x.get('file_name')} "
                    f"has no instance annotations: evaluate on a dataset with instances"
                )
            height, width = x["instance_ids"].shape
            ids[k, :height, :width] = x["instance_ids"].to(device)
        targets = head_targets(ids, head_size, stride)
        displacement = targets.offsets
        if self.noise > 0:
            displacement = displacement + (self.noise / stride) * torch.stack(
                [self._normal(x, displacement.shape[1:], device) for x in batched_inputs]
            )
        return displacement, self._boundary(targets.boundary)

    def _normal(self, record: dict, shape, device) -> torch.Tensor:
        key = zlib.crc32(str(record.get("file_name", record.get("image_id"))).encode())
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + key)
        return torch.randn(tuple(shape), generator=generator).to(device)

    def _boundary(self, boundary: torch.Tensor) -> torch.Tensor:
        if self.boundary == "missing":
            return torch.zeros_like(boundary)
        if self.boundary == "blurred":
            for _ in range(2):
                boundary = F.avg_pool2d(boundary[:, None], 3, stride=1, padding=1, count_include_pad=False)[:, 0]
        return boundary
