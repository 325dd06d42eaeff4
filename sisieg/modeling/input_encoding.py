"""What the backbone sees: the semantic mask (the paper), the image, or both.

The mask is rendered either as a 3-channel palette image, so an ImageNet backbone can
take it like a photo, or as one channel per semantic class; optionally one more channel
holds its distance transform (``MODEL.SISEG.MASK_DISTANCE_CAP``, sisieg/modeling/mask_distance.py).
Images and palette renders are normalised with ``MODEL.PIXEL_MEAN`` / ``PIXEL_STD``.
"""
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..data.palette import voc_palette
from ..errors import ConfigError
from .mask_distance import label_distance

INPUT_MODES = ("mask", "image", "image+mask")
MASK_ENCODINGS = ("color", "onehot")


def label_palette() -> torch.Tensor:
    """The fixed (256, 3) uint8 palette masks are drawn in: VOC's colour map
    (``sisieg.data.palette``), so a rendered mask looks like a VOC label PNG."""
    return torch.from_numpy(voc_palette(256))


class InputEncoder(nn.Module):
    """Build the backbone input from a batch of images and semantic masks."""

    def __init__(
        self,
        mode: str,
        mask_encoding: str,
        num_semantic_classes: int,
        ignore_value: int,
        pixel_mean: Sequence[float],
        pixel_std: Sequence[float],
        distance_cap: float = 0.0,
        image_dropout: float = 0.0,
    ):
        super().__init__()
        if mode not in INPUT_MODES:
            raise ConfigError(f"MODEL.SISEG.INPUT_MODE must be one of {INPUT_MODES}, got {mode!r}")
        if mask_encoding not in MASK_ENCODINGS:
            raise ConfigError(
                f"MODEL.SISEG.MASK_ENCODING must be one of {MASK_ENCODINGS}, got {mask_encoding!r}"
            )
        if distance_cap < 0 or (distance_cap > 0 and mode == "image"):
            raise ConfigError(f"MODEL.SISEG.MASK_DISTANCE_CAP must be 0 or positive with a mask input "
                              f"(INPUT_MODE {mode!r}), got {distance_cap}")
        if not 0.0 <= image_dropout < 1.0 or (image_dropout > 0 and mode != "image+mask"):
            raise ConfigError(f"MODEL.SISEG.IMAGE_DROPOUT must be in [0, 1), and 0 unless INPUT_MODE is "
                              f"'image+mask' (got {image_dropout} with {mode!r})")
        self.mode = mode
        self.image_dropout = float(image_dropout)
        self.distance_cap = float(distance_cap)
        # The networks' convolutions follow their input's layout: channels-last on purpose (a
        # training step on the CPU takes 0.79x the plain layout's time in bfloat16, 0.60x in
        # float32: tools/benchmark_training_step.py --compare input-layout).
        self.memory_format = torch.channels_last
        self.mask_encoding = mask_encoding
        self.num_semantic_classes = num_semantic_classes
        self.ignore_value = ignore_value
        self.register_buffer("pixel_mean", torch.tensor(pixel_mean).view(-1, 1, 1), False)
        self.register_buffer("pixel_std", torch.tensor(pixel_std).view(-1, 1, 1), False)
        self.register_buffer("palette", label_palette().float(), False)

    @property
    def in_channels(self) -> int:
        mask = (3 if self.mask_encoding == "color" else self.num_semantic_classes) + (self.distance_cap > 0)
        return {"mask": mask, "image": 3, "image+mask": 3 + mask}[self.mode]

    @property
    def uses_image(self) -> bool:
        return self.mode != "mask"

    @property
    def uses_mask(self) -> bool:
        return self.mode != "image"

    def forward(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """images (N, 3, H, W) float in pixel units (may be None in "mask" mode), labels
        (N, H, W) long -> (N, in_channels, H, W)."""
        parts = []
        if self.uses_image:
            parts.append(self.blank_some((images - self.pixel_mean) / self.pixel_std))
        if self.uses_mask:
            parts.append(self.encode_mask(labels))
        if self.distance_cap > 0:
            parts.append(label_distance(labels, self.distance_cap))
        return torch.cat(parts, dim=1).contiguous(memory_format=self.memory_format)

    def blank_some(self, image: torch.Tensor) -> torch.Tensor:
        """Training with ``image_dropout``: each image of the batch is replaced by the mean
        image (zeros after normalisation) with that probability, so the heads learn to work
        from the mask alone and take the image as extra evidence (modality dropout)."""
        if not self.training or self.image_dropout == 0:
            return image
        keep = torch.rand(image.shape[0], 1, 1, 1, device=image.device) >= self.image_dropout
        return image * keep

    def encode_mask(self, labels: torch.Tensor) -> torch.Tensor:
        if self.mask_encoding == "color":
            rgb = self.palette[labels.clamp(0, 255)].permute(0, 3, 1, 2)
            return (rgb - self.pixel_mean) / self.pixel_std
        valid = (labels >= 0) & (labels < self.num_semantic_classes)
        onehot = F.one_hot(torch.where(valid, labels, 0), self.num_semantic_classes)
        return (onehot * valid.unsqueeze(-1)).permute(0, 3, 1, 2).float()
