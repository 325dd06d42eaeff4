"""Training-time corruption of the mask SISeg sees (``INPUT.SISEG.MASK_CORRUPTION``).

At inference SISeg reads a *predicted* semantic mask, whose errors a network trained on
ground-truth masks has never seen: boundaries a few pixels off, objects thinner or fatter,
holes, false blobs on the background, wrong classes. ``corrupt_mask`` draws such errors on the
ground-truth mask of a training image; the network sees the corrupted mask while its targets
(instance ids, offsets) stay those of the ground truth, so it learns to point each pixel of a
wrong-looking mask to the right centre. Each operation is applied with ``probability``:

- ``jitter``: boundaries moved by a smooth random warp of up to ``jitter`` pixels;
- ``erode_dilate``: every object eroded or dilated (into the background) by 1..``radius`` px;
- ``holes``: 1..``count`` ellipses of background inside objects;
- ``blobs``: 1..``count`` ellipses of a random thing class on the background;
- ``class_swap``: each connected region of things takes a random thing class with
  ``swap_probability``.

Everything draws from the ``rng`` given, so a seed fixes the corruption; ids stay in the mask's
range (background 0, the thing ids, ``ignore_value`` untouched).
"""
from typing import NamedTuple, Sequence, Tuple

import cv2
import numpy as np

from ..errors import ConfigError

CORRUPTIONS = ("jitter", "erode_dilate", "holes", "blobs", "class_swap")  # in the order applied


class CorruptionSettings(NamedTuple):
    ops: Tuple[str, ...]  # a subset of CORRUPTIONS
    probability: float  # chance of each operation on an image
    radius: int  # erode_dilate: largest radius in pixels
    count: int  # holes / blobs: largest number per image
    blob_size: Tuple[float, float]  # holes / blobs: range of the ellipses' diameters in pixels
    swap_probability: float  # class_swap: chance of each connected region of things
    jitter: float  # jitter: largest boundary displacement in pixels


def corruption_settings(node) -> CorruptionSettings:
    """Settings from ``INPUT.SISEG.MASK_CORRUPTION``, checked (unknown operations name the
    choices)."""
    unknown = [op for op in node.OPS if op not in CORRUPTIONS]
    if unknown:
        raise ConfigError(f"INPUT.SISEG.MASK_CORRUPTION.OPS {unknown} are not among {list(CORRUPTIONS)}")
    if not 0.0 <= node.PROBABILITY <= 1.0 or not 0.0 <= node.SWAP_PROBABILITY <= 1.0:
        raise ConfigError("INPUT.SISEG.MASK_CORRUPTION.PROBABILITY and SWAP_PROBABILITY must be in [0, 1]")
    if node.RADIUS < 1 or node.COUNT < 1 or min(node.BLOB_SIZE) <= 0 or node.JITTER < 0:
        raise ConfigError("INPUT.SISEG.MASK_CORRUPTION: RADIUS and COUNT >= 1, BLOB_SIZE > 0, JITTER >= 0")
    return CorruptionSettings(tuple(node.OPS), float(node.PROBABILITY), int(node.RADIUS), int(node.COUNT),
                              tuple(float(s) for s in node.BLOB_SIZE), float(node.SWAP_PROBABILITY),
                              float(node.JITTER))


def corrupt_mask(sem_seg: np.ndarray, rng: np.random.Generator, settings: CorruptionSettings,
                 thing_ids: Sequence[int], ignore_value: int) -> np.ndarray:
    """A corrupted copy of the (H, W) semantic mask ``sem_seg`` (0 = background)."""
    mask = np.array(sem_seg, copy=True)
    things = np.asarray(thing_ids, mask.dtype)
    for op in CORRUPTIONS:
        if op in settings.ops and rng.random() < settings.probability:
            mask = _OPERATIONS[op](mask, rng, settings, things, ignore_value)
    return mask


def _jitter(mask, rng, s, things, ignore_value):
    """Warp the mask by a smooth random displacement (nearest-neighbour), at most s.jitter px."""
    height, width = mask.shape
    coarse = rng.uniform(-1, 1, (height // 16 + 2, width // 16 + 2, 2)).astype(np.float32)
    shift = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC) * s.jitter
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    return cv2.remap(mask, xs + shift[..., 0], ys + shift[..., 1], cv2.INTER_NEAREST,
                     borderMode=cv2.BORDER_REPLICATE)


def _erode_dilate(mask, rng, s, things, ignore_value):
    """Erode the things where they meet the background, or dilate them into it."""
    radius = int(rng.integers(1, s.radius + 1))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    is_thing = np.isin(mask, things)
    if rng.random() < 0.5:
        near_background = cv2.dilate((mask == 0).astype(np.uint8), kernel) > 0
        return np.where(is_thing & near_background, 0, mask).astype(mask.dtype)
    grown = cv2.dilate(np.where(is_thing, mask, 0).astype(mask.dtype), kernel)
    return np.where(mask == 0, grown, mask).astype(mask.dtype)


def _ellipses(shape, rng, s, centres, draw_value=None) -> np.ndarray:
    """(H, W) array: ellipses of random size and angle at ``centres`` (k, 2) (x, y), painted in
    order (later on top) with 1, or each with ``draw_value(rng)`` drawn after its shape; 0
    elsewhere (the dtype of the values)."""
    values = []
    index = np.zeros(shape, np.uint8)  # k = the k-th ellipse (at most s.count of them)
    for k, (x, y) in enumerate(centres, start=1):
        axes = rng.uniform(*s.blob_size, 2) / 2
        cv2.ellipse(index, (int(x), int(y)), (max(1, int(axes[0])), max(1, int(axes[1]))),
                    float(rng.uniform(0, 180)), 0, 360, k, -1)
        values.append(1 if draw_value is None else draw_value(rng))
    return np.asarray([0] + values)[index]


def _random_points(where: np.ndarray, rng, s) -> np.ndarray:
    """1..s.count random (x, y) pixels among the True pixels of ``where`` (none if empty)."""
    ys, xs = np.nonzero(where)
    if len(xs) == 0:
        return np.zeros((0, 2), np.int64)
    picks = rng.integers(len(xs), size=int(rng.integers(1, s.count + 1)))
    return np.stack([xs[picks], ys[picks]], 1)


def _holes(mask, rng, s, things, ignore_value):
    """Background ellipses centred on thing pixels (only thing pixels change)."""
    is_thing = np.isin(mask, things)
    holes = _ellipses(mask.shape, rng, s, _random_points(is_thing, rng, s)) > 0
    return np.where(holes & is_thing, 0, mask).astype(mask.dtype)


def _blobs(mask, rng, s, things, ignore_value):
    """Ellipses of one random thing class each, painted on background pixels only."""
    if len(things) == 0:
        return mask
    blobs = _ellipses(mask.shape, rng, s, _random_points(mask == 0, rng, s),
                      lambda r: things[int(r.integers(len(things)))])
    return np.where((mask == 0) & (blobs > 0), blobs, mask).astype(mask.dtype)


def _class_swap(mask, rng, s, things, ignore_value):
    """Each 8-connected region of thing pixels takes a random thing class with
    s.swap_probability (one lookup over the region ids, no loop over regions)."""
    is_thing = np.isin(mask, things)
    count, regions = cv2.connectedComponents(is_thing.astype(np.uint8), connectivity=8)
    if count <= 1 or len(things) < 2:
        return mask
    swapped = rng.random(count) < s.swap_probability
    swapped[0] = False
    new_class = things[rng.integers(len(things), size=count)]
    return np.where(swapped[regions], new_class[regions], mask).astype(mask.dtype)


_OPERATIONS = {
    "jitter": _jitter,
    "erode_dilate": _erode_dilate,
    "holes": _holes,
    "blobs": _blobs,
    "class_swap": _class_swap,
}
