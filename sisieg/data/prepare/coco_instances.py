"""From per-pixel instance ids to COCO annotations (compressed RLE) and their ``touching`` flags,
shared by the prepare scripts and the synthetic generator."""
from typing import List

import numpy as np
import pycocotools.mask as mask_util


def encode_mask(mask: np.ndarray) -> dict:
    """Compressed RLE of a (H, W) boolean mask, ``counts`` as a str (json-ready)."""
    rle = mask_util.encode(np.asfortranarray(mask[:, :, None].astype(np.uint8)))[0]
    rle["counts"] = rle["counts"].decode("ascii")
    return rle


def coco_annotation(mask: np.ndarray, category_id: int, image_id, annotation_id: int) -> dict:
    """A COCO annotation of ``mask``: RLE, integer [x, y, w, h] box of its pixels, area."""
    rle = encode_mask(mask)
    x, y, w, h = (int(v) for v in mask_util.toBbox(rle))
    return {
        "id": annotation_id,
        "image_id": image_id,
        "category_id": int(category_id),
        "segmentation": rle,
        "area": int(mask_util.area(rle)),
        "bbox": [x, y, w, h],
        "iscrowd": 0,
    }


def pair_counts(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """(256, 256) table: ``[a, b]`` = pixels where ``first == a`` and ``second == b`` (uint8
    maps of equal shape, e.g. instance ids and class ids); one vectorised bincount."""
    pairs = first.astype(np.int64).ravel() * 256 + second.astype(np.int64).ravel()
    return np.bincount(pairs, minlength=256 * 256).reshape(256, 256)


def touching_flags(labels: np.ndarray, classes) -> List[bool]:
    """For each instance 1..n of the label map ``labels`` (0 = none; ``classes`` the 0-based
    class of each), whether it is 4-adjacent to an instance of its class: from the pairs of
    neighbouring pixels, not from a mask per pair of instances."""
    class_of = np.concatenate([[-1], np.asarray(classes, np.int64)])[labels]
    flags = np.zeros(len(classes) + 1, bool)
    for axis in (0, 1):  # vertical, then horizontal neighbours
        a, b = np.moveaxis(labels, axis, 0)[1:], np.moveaxis(labels, axis, 0)[:-1]
        ca, cb = np.moveaxis(class_of, axis, 0)[1:], np.moveaxis(class_of, axis, 0)[:-1]
        contact = (a != b) & (a > 0) & (b > 0) & (ca == cb)
        flags[a[contact]] = True
        flags[b[contact]] = True
    return flags[1:].tolist()
