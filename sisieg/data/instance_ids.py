"""Per-pixel instance ids from a record's instance annotations (instance-aware training).

Map values: 0 = no instance, k = the k-th annotation (1-based, later annotations drawn over
earlier ones where they overlap), -1 = unknown (crowd regions). Stored as float32 so that
Detectron2's transforms resize it exactly (nearest) whatever the number of instances.
"""
import os
import zlib
from typing import List

import numpy as np
import pycocotools.mask as mask_util
from detectron2.structures import polygons_to_bitmask

UNKNOWN = -1


def annotation_mask(annotation: dict, height: int, width: int) -> np.ndarray:
    """Decode one annotation's ``segmentation`` (polygons, RLE or uncompressed RLE)."""
    segmentation = annotation["segmentation"]
    if isinstance(segmentation, list):
        return polygons_to_bitmask(segmentation, height, width)
    if isinstance(segmentation.get("counts"), list):
        segmentation = mask_util.frPyObjects(segmentation, height, width)
    return mask_util.decode(segmentation).astype(bool)


def instance_id_map(annotations: List[dict], height: int, width: int) -> np.ndarray:
    """(H, W) float32 instance ids of ``annotations`` (see the module docstring)."""
    ids = np.zeros((height, width), dtype=np.float32)
    for index, annotation in enumerate(annotations, start=1):  # a loop over objects
        mask = annotation_mask(annotation, height, width)
        ids[mask] = UNKNOWN if annotation.get("iscrowd", 0) else index
    return ids


def has_instance_labels(record: dict, fraction: float) -> bool:
    """Whether this image keeps its instance labels when only ``fraction`` of the images do:
    a fixed pseudo-random choice from the file's base name, the same in every run and process
    wherever the dataset lies (the folder would make it depend on ``DETECTRON2_DATASETS``)."""
    if fraction >= 1.0:
        return True
    name = os.path.basename(str(record.get("file_name", record.get("image_id"))))
    key = zlib.crc32(name.encode()) % 10000
    return key < fraction * 10000
