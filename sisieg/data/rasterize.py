"""Semantic masks painted from instance annotations, for datasets without semantic PNGs.

Ids follow the project's convention: 0 = background, contiguous thing id ``k`` -> ``k + 1``,
255 = ignore. Overlaps are resolved deterministically: instances are painted from the
largest area to the smallest (equal areas: in annotation order, the later one on top), so a
small object lying on a large one stays visible; crowd regions (``iscrowd: 1``) are painted
last, as ignore (255), over everything.
"""
from typing import List

import numpy as np

from .instance_ids import annotation_mask
from ..errors import InputError

IGNORE_VALUE = 255


def rasterize_semantic(annotations: List[dict], height: int, width: int) -> np.ndarray:
    """(H, W) uint8 class ids from Detectron2 annotation dicts (contiguous ``category_id``,
    ``segmentation`` as polygons, RLE or uncompressed RLE, optional ``iscrowd``)."""
    semantic = np.zeros((height, width), dtype=np.uint8)
    objects = [a for a in annotations if not a.get("iscrowd", 0)]
    crowds = [a for a in annotations if a.get("iscrowd", 0)]
    masks = [_mask(a, height, width) for a in objects]
    areas = [int(mask.sum()) for mask in masks]
    by_area = sorted(range(len(objects)), key=lambda i: -areas[i])  # stable: ties keep their order
    for i in by_area:  # a loop over objects, each painted at once
        semantic[masks[i]] = _class_id(objects[i])
    for crowd in crowds:
        semantic[_mask(crowd, height, width)] = IGNORE_VALUE
    return semantic


def _mask(annotation: dict, height: int, width: int) -> np.ndarray:
    if "segmentation" not in annotation:
        raise InputError(
            f"annotation {annotation.get('id', '?')} has no 'segmentation': semantic masks can "
            f"only be painted from mask annotations; give the dataset a folder of semantic PNGs"
        )
    return annotation_mask(annotation, height, width)


def _class_id(annotation: dict) -> int:
    class_id = int(annotation["category_id"]) + 1
    if not 1 <= class_id < IGNORE_VALUE:
        raise InputError(
            f"contiguous category id {annotation['category_id']} cannot be painted as a uint8 "
            f"semantic id 1..{IGNORE_VALUE - 1}"
        )
    return class_id
