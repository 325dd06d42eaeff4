"""Pictures of what label-free training teaches: composites with their instance ids."""
from typing import List

import numpy as np
from detectron2.data.detection_utils import convert_image_to_rgb

from .colorize import labels_to_rgb

TITLES = ("training image (composite)", "semantic mask", "instance ids (grey: unknown)")
UNKNOWN_GREY = 128


def composite_row(x: dict, stuff_colors, image_format: str) -> list:
    """The panels of ``TITLES`` for one mapped training sample (``instance_ids``: -1 unknown)."""
    ids = x["instance_ids"]
    picture = labels_to_rgb(ids.clamp(min=0), seed=3)
    picture[(ids < 0).numpy()] = UNKNOWN_GREY
    image = convert_image_to_rgb(x["image"].permute(1, 2, 0), image_format)
    return [image, labels_to_rgb(x["sem_seg"], stuff_colors), picture]


def composite_rows(samples: List[dict], stuff_colors, image_format: str) -> List[list]:
    return [composite_row(x, stuff_colors, image_format) for x in samples]
