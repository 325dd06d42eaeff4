"""Reading semantic-mask PNGs: raw class ids, never palette colours, checked."""
import numpy as np
from PIL import Image

from ..errors import InputError

ID_MODES = ("P", "L", "I", "I;16", "I;16B", "I;16L")


def read_semantic_mask(path: str, num_classes: int = None, ignore_value: int = 255) -> np.ndarray:
    """Read a single-channel (or palette-indexed) PNG of class ids as an (H, W) int64 array.

    Palette images give their indices (VOC's ``SegmentationClass``), not colours. With
    ``num_classes``, ids outside ``[0, num_classes)`` other than ``ignore_value`` are an
    error naming the file and the ids.
    """
    with Image.open(path) as image:
        if image.mode not in ID_MODES:
            raise InputError(
                f"{path}: semantic mask must be single-channel or palette class ids, "
                f"got a {image.mode} image"
            )
        labels = np.asarray(image).astype(np.int64)
    if num_classes is not None:
        check_semantic_ids(labels, num_classes, ignore_value, path)
    return labels


def check_semantic_ids(labels: np.ndarray, num_classes: int, ignore_value: int, source: str):
    """ValueError naming ``source`` when ``labels`` holds ids outside ``[0, num_classes)``
    other than ``ignore_value``."""
    bad = np.unique(labels[(labels >= num_classes) & (labels != ignore_value)])
    if bad.size:
        raise InputError(
            f"{source}: semantic ids {bad[:10].tolist()} outside the expected range "
            f"0..{num_classes - 1} (and {ignore_value} = ignore)"
        )
