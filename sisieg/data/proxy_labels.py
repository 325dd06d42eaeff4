"""Self-training for label-free SISeg: a trained model's confident splits become instance labels.

Label-free training (sisieg/data/composites.py) knows the instances of *isolated* objects only;
every other thing component (two touching objects of one class, or one odd-shaped object) stays
unknown and is ignored by the losses, and never becomes a paste candidate. A trained model can
split those components (BoxCaseg's proxy labels, ``../shared/spec/boxcaseg-paper.txt``): where
it cuts one into several instances and is confident in every piece, the pieces become instance
labels of the next round, both as targets on the real image and as paste candidates. Everything
else stays as the isolated-object rule left it. Still no instance annotation is read: the model
sees the training images' semantic masks only.

Proxy ids are stored per training image as 16-bit PNGs named like the image
(``<image stem>.png``): 0 = none, k = instance k, 65535 = unknown (``tools/proxy_labels.py`` writes
them; ``INPUT.SISEG.COMPOSITES.PROXY_LABELS`` names the folder).
"""
import os
from typing import NamedTuple

import cv2
import numpy as np
from PIL import Image

from ..errors import InputError
from .atomic_io import replace_from_temporary
from .composites import UNKNOWN

STORED_UNKNOWN = 65535  # how UNKNOWN is written in the 16-bit PNG


class ProxyCounts(NamedTuple):
    """What one image's proxy labels changed, for the tool's summary."""

    unknown_components: int  # thing components the isolated-object rule left unknown
    split: int  # ... of which the model split (or, with ``whole``, kept whole) confidently: now labelled
    new_instances: int  # instances those splits gave


def proxy_ids(ids: np.ndarray, semantic: np.ndarray, predicted: np.ndarray, scores: np.ndarray,
              min_score: float, min_area: int, whole: bool = False, ignore: int = 255):
    """(new ids (H, W) int32, ProxyCounts): ``ids`` (isolated objects, UNKNOWN elsewhere on
    things) with each unknown component (4-connected, one class) that the model's instances
    ``predicted`` (H, W; 0 none, k = instance k with score ``scores[k - 1]``) cut into at least
    two pieces of ``min_area`` pixels, every piece scoring ``min_score`` or more, labelled
    with those pieces; with ``whole``, also each one the model keeps as one confident instance.
    Pixels labelled ``ignore`` in ``semantic`` stay unknown."""
    unknown = (ids == UNKNOWN) & (semantic != ignore) & (semantic > 0)
    code = np.where(unknown, semantic.astype(np.int64), 0)
    components = _components_per_class(code)
    num_components = int(components.max(initial=0))
    if num_components == 0:
        return ids, ProxyCounts(0, 0, 0)
    # Pixel counts of every (component, predicted instance) pair: one bincount.
    num_pred = len(scores) + 1
    if int(predicted.max(initial=0)) >= num_pred:
        raise ValueError(f"instance {int(predicted.max())} predicted but only {len(scores)} scores given")
    inside = components > 0
    pairs = np.bincount(components[inside] * num_pred + predicted[inside], minlength=(num_components + 1) * num_pred)
    pairs = pairs.reshape(num_components + 1, num_pred)
    score = np.concatenate([[0.0], np.asarray(scores, np.float64)])
    present = pairs > 0
    big = pairs >= min_area
    confident = (score[None] >= min_score) & (np.arange(num_pred) > 0)[None]
    # A component is split when all its pixels are predicted, by pieces that are big and confident.
    split = (present[:, 1:].sum(1) >= (1 if whole else 2)) & ~present[:, 0] & (present <= (big & confident)).all(1)
    split[0] = False
    new = ids.copy()
    take = split[components] & inside
    base = int(ids.max(initial=0))
    keys = components[take] * num_pred + predicted[take]
    _, relabelled = np.unique(keys, return_inverse=True)
    new[take] = base + 1 + relabelled.reshape(-1)
    return new, ProxyCounts(num_components, int(split.sum()), int(relabelled.max(initial=-1)) + 1)


def _components_per_class(code: np.ndarray) -> np.ndarray:
    """(H, W) int64 ids 1..n of the 4-connected components of each nonzero value of ``code``."""
    out = np.zeros(code.shape, np.int64)
    total = 0
    for value in np.unique(code[code > 0]):  # a loop over classes
        n, labels = cv2.connectedComponents((code == value).astype(np.uint8), connectivity=4)
        out[labels > 0] = labels[labels > 0] + total
        total += n - 1
    return out


def proxy_path(folder: str, file_name: str) -> str:
    """Where the proxy ids of the image ``file_name`` live: ``<folder>/<image stem>.png``."""
    return os.path.join(folder, os.path.splitext(os.path.basename(file_name))[0] + ".png")


def write_proxy_ids(path: str, ids: np.ndarray):
    if ids.max(initial=0) >= STORED_UNKNOWN:
        raise ValueError(f"{path}: {int(ids.max())} instances do not fit a 16-bit PNG")
    stored = np.where(ids == UNKNOWN, STORED_UNKNOWN, ids).astype(np.uint16)
    image = Image.fromarray(stored)
    replace_from_temporary(path, lambda tmp: image.save(tmp, format="PNG"))


def read_proxy_ids(path: str, shape) -> np.ndarray:
    """(H, W) int32 ids (UNKNOWN where unknown); InputError naming the file if it is missing or
    does not match ``shape``."""
    if not os.path.isfile(path):
        raise InputError(f"proxy labels {path} not found: run tools/proxy_labels.py for this training split, "
                         f"or clear INPUT.SISEG.COMPOSITES.PROXY_LABELS")
    stored = np.array(Image.open(path)).astype(np.int64)
    if stored.shape != tuple(shape):
        raise InputError(f"proxy labels {path} are {stored.shape[1]}x{stored.shape[0]} (WxH), the image {shape[1]}x{shape[0]}")
    return np.where(stored == STORED_UNKNOWN, UNKNOWN, stored).astype(np.int32)
