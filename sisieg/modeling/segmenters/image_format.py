"""Channel order of the images handed to a wrapped segmenter."""
import torch

from ...data.image_io import CHANNEL_ORDERS
from ...errors import InputError


def convert_format(image: torch.Tensor, source: str, target: str) -> torch.Tensor:
    """A (C, H, W) image in Detectron2 format ``source`` as ``target`` ("RGB" or "BGR")."""
    for name, value in (("source", source), ("target", target)):
        if value not in CHANNEL_ORDERS:
            raise InputError(
                f"image format {value!r} ({name}) is not supported by sisieg's wrapped "
                f"segmenters: use one of {CHANNEL_ORDERS} for INPUT.FORMAT"
            )
    return image if source == target else image.flip(0)
