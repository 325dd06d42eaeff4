"""From per-pixel instance ids to COCO annotations (compressed RLE), shared by the scripts."""
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
