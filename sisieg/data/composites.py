"""Label-free instance targets: isolated objects of the semantic masks, pasted to touch.

SISeg's promise is instances without instance labels, but a semantic mask alone never shows
two touching objects of one class apart. It does show many *isolated* objects: connected
components of a class that look like one object (solid enough). They are labelled as
instances of their own (everything else of the things stays unknown), then copied and pasted
so that objects of one class touch and occlude each other; the composite's instance ids are
exact by construction. The network sees the mask (and, if it uses it, the image with the
pasted pixels), so a composite looks like a real scene with known instances.

Nothing here reads an instance annotation: only semantic masks and images.
"""
from dataclasses import dataclass
from typing import List, NamedTuple, Optional, Tuple

import logging

import cv2
import numpy as np
from detectron2.utils.logger import log_first_n

from ..errors import ConfigError

UNKNOWN = -1  # instance id of thing pixels whose instance is not known
LABEL_FREE_SUPERVISIONS = ("label_free", "mixed")  # MODEL.SISEG.SUPERVISION values that use composites
BLENDS = ("cover", "add")  # INPUT.SISEG.COMPOSITES.BLEND: how a pasted object's pixels meet the scene's


@dataclass(frozen=True)
class CompositeSettings:
    """``INPUT.SISEG.COMPOSITES``: see sisieg/config.py."""

    share: float = 0.5
    pastes: int = 4
    pastes_per_object: float = 0.5
    min_solidity: float = 0.9
    min_area: int = 20
    contact: Tuple[float, float] = (0.6, 1.0)
    scale_range: Tuple[float, float] = (0.75, 1.25)
    blend: str = "cover"

    def __post_init__(self):
        if self.blend not in BLENDS:
            raise ConfigError(f"INPUT.SISEG.COMPOSITES.BLEND must be one of {BLENDS}, got {self.blend!r}")


def composite_settings(node) -> CompositeSettings:
    """Settings from ``INPUT.SISEG.COMPOSITES``."""
    return CompositeSettings(node.SHARE, node.PASTES, node.PASTES_PER_OBJECT, node.MIN_SOLIDITY, node.MIN_AREA,
                             tuple(node.CONTACT), tuple(node.SCALE_RANGE), node.BLEND)


class Candidate(NamedTuple):
    """An isolated object, cut out of its image: its mask and pixels in its bounding box."""

    class_id: int  # semantic id
    mask: np.ndarray  # (h, w) bool
    pixels: np.ndarray  # (h, w, 3) uint8: the image under the box


def solidity(mask: np.ndarray) -> float:
    """Area of ``mask`` with its holes filled over the area of its convex hull: 1 for a convex
    object or a ring, lower where two objects meet in a concave neck. Pixel areas: the hull of
    the pixel centres plus half its perimeter and one (Pick's theorem)."""
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    filled = cv2.drawContours(np.zeros(mask.shape, np.uint8), contours, -1, 1, thickness=-1)
    hull = cv2.convexHull(np.concatenate(contours))
    return float(filled.sum()) / max(cv2.contourArea(hull) + 0.5 * cv2.arcLength(hull, True) + 1.0, 1.0)


def isolated_objects(semantic: np.ndarray, thing_ids, settings: CompositeSettings, ignore: int = 255) -> np.ndarray:
    """(H, W) int32 instance ids from a semantic mask alone: each connected component (4-neighbours)
    of a thing class that is solid enough and at least ``min_area`` pixels is an instance
    1..n; the other thing pixels are UNKNOWN; background and stuff 0, ignore UNKNOWN."""
    ids = np.zeros(semantic.shape, np.int32)
    ids[semantic == ignore] = UNKNOWN
    count = 0
    for class_id in np.intersect1d(np.unique(semantic), np.asarray(thing_ids)):  # a loop over classes
        n, labels, stats, _ = cv2.connectedComponentsWithStats((semantic == class_id).astype(np.uint8), connectivity=4)
        for k in range(1, n):  # a loop over the components of one class (data preparation)
            x, y, w, h, area = stats[k]
            box = labels[y:y + h, x:x + w] == k
            region = ids[y:y + h, x:x + w]
            if area >= settings.min_area and solidity(box) >= settings.min_solidity:
                count += 1
                region[box] = count
            else:
                region[box] = UNKNOWN
    return ids


def candidates(image: np.ndarray, semantic: np.ndarray, ids: np.ndarray) -> List[Candidate]:
    """The labelled objects of ``ids`` (isolated objects, proxy or annotated instances) as paste
    candidates; an id without pixels (an annotation drawn over, a cropped proxy) is skipped."""
    found = []
    for k in range(1, int(ids.max(initial=0)) + 1):  # a loop over objects (data preparation)
        ys, xs = np.nonzero(ids == k)
        if ys.size == 0:
            continue
        y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
        mask = ids[y0:y1, x0:x1] == k
        found.append(Candidate(int(semantic[ys[0], xs[0]]), mask, image[y0:y1, x0:x1].copy()))
    return found


def transformed(candidate: Candidate, rng: np.random.Generator, scale_range) -> Candidate:
    """The candidate flipped, turned by a multiple of 90 degrees and rescaled at random."""
    mask, pixels = candidate.mask, candidate.pixels
    if rng.random() < 0.5:
        mask, pixels = mask[:, ::-1], pixels[:, ::-1]
    turns = int(rng.integers(4))
    mask, pixels = np.rot90(mask, turns), np.rot90(pixels, turns)
    scale = rng.uniform(*scale_range)
    size = (max(1, int(round(mask.shape[1] * scale))), max(1, int(round(mask.shape[0] * scale))))
    mask = cv2.resize(mask.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST).astype(bool)
    pixels = cv2.resize(np.ascontiguousarray(pixels), size, interpolation=cv2.INTER_LINEAR)
    return Candidate(candidate.class_id, mask, pixels)


def compose(image: np.ndarray, semantic: np.ndarray, ids: np.ndarray, pool: List[Candidate],
            rng: np.random.Generator, settings: CompositeSettings):
    """Paste max(``pastes``, ``pastes_per_object`` x the scene's isolated objects) candidates of
    ``pool`` onto the scene, each next to (touching or partly covering) an isolated object of its
    class when the scene has one. Returns new (image, semantic, ids); pasted objects get new ids,
    covered pixels leave the object under (its pixels: ``settings.blend``, ``pasted_pixels``)."""
    background = background_level(image, semantic) if settings.blend == "add" else None
    image, semantic, ids = image.copy(), semantic.copy(), ids.copy()
    height, width = semantic.shape
    count = max(int(settings.pastes), int(round(settings.pastes_per_object * ids.max(initial=0))))
    for _ in range(count):  # a loop over pasted objects (data preparation)
        if not pool:
            break
        piece = transformed(pool[int(rng.integers(len(pool)))], rng, settings.scale_range)
        centre = _placement(piece, semantic, ids, rng, settings.contact)
        h, w = piece.mask.shape
        y0, x0 = int(round(centre[0] - h / 2)), int(round(centre[1] - w / 2))
        ys, xs = np.nonzero(piece.mask)
        ty, tx = ys + y0, xs + x0
        inside = (ty >= 0) & (ty < height) & (tx >= 0) & (tx < width)
        if inside.sum() < settings.min_area:
            continue
        ys, xs, ty, tx = ys[inside], xs[inside], ty[inside], tx[inside]
        new_id = int(ids.max(initial=0)) + 1
        semantic[ty, tx] = piece.class_id
        ids[ty, tx] = new_id
        image[ty, tx] = pasted_pixels(image[ty, tx], piece.pixels[ys, xs], background)
    return image, semantic, ids


def background_level(image: np.ndarray, semantic: np.ndarray) -> np.ndarray:
    """(3,) median colour of the scene's background (semantic 0); zeros where it has none."""
    pixels = image[semantic == 0]
    return np.median(pixels, axis=0) if pixels.size else np.zeros(image.shape[-1])


def pasted_pixels(under: np.ndarray, pasted: np.ndarray, background: Optional[np.ndarray]) -> np.ndarray:
    """(M, 3) uint8 colours where a pasted object lands on pixels ``under``: its own ("cover",
    ``background`` None: an opaque object on top) or, "add", its light added to theirs over the
    background level (fluorescence: a nucleus on another shines through it, brighter where they
    overlap, and no hard edge where the one under is as bright as it)."""
    if background is None:
        return pasted
    added = under.astype(np.float32) + pasted.astype(np.float32) - background.astype(np.float32)
    return np.clip(np.rint(added), 0, 255).astype(np.uint8)


def _placement(piece: Candidate, semantic, ids, rng, contact) -> Tuple[float, float]:
    """Where the piece's centre goes: next to a labelled object of its class, the centres
    ``contact`` x the sum of the two equivalent radii apart (below 1: it covers part of it);
    anywhere in the image when there is none."""
    same = np.unique(ids[(semantic == piece.class_id) & (ids > 0)])
    if same.size == 0:
        return rng.uniform(0, semantic.shape[0]), rng.uniform(0, semantic.shape[1])
    ys, xs = np.nonzero(ids == same[int(rng.integers(same.size))])
    radius = np.sqrt(ys.size / np.pi) + np.sqrt(piece.mask.sum() / np.pi)
    angle = rng.uniform(0, 2 * np.pi)
    distance = rng.uniform(*contact) * radius
    return ys.mean() + distance * np.sin(angle), xs.mean() + distance * np.cos(angle)


def label_free_ids(image, semantic, thing_ids, pool_from: Optional[Tuple[np.ndarray, np.ndarray, Optional[np.ndarray]]],
                   rng: np.random.Generator, settings: CompositeSettings, ignore: int = 255, ids=None):
    """A training sample's (image, semantic, instance ids) without instance labels: the
    isolated objects labelled (or the known ``ids`` given: proxy labels of a self-training
    round, sisieg/data/proxy_labels.py, or the annotated instances with
    ``INPUT.SISEG.COMPOSITES.LABELLED``); with probability ``share`` a composite, pasting
    candidates of this image and of ``pool_from`` (another image, its semantic mask and its
    known ids, or None: its isolated objects)."""
    ids = isolated_objects(semantic, thing_ids, settings, ignore) if ids is None else ids
    if rng.random() >= settings.share:
        return image, semantic, ids
    pool = candidates(image, semantic, ids)
    if pool_from is not None:
        donor_image, donor_semantic, donor_ids = pool_from
        if donor_ids is None:
            donor_ids = isolated_objects(donor_semantic, thing_ids, settings, ignore)
        pool += candidates(donor_image, donor_semantic, donor_ids)
    if not pool:
        log_first_n(logging.WARNING, "no isolated object to paste in an image and its donor: it trains with the "
                    "instance ids of its isolated objects only (none here; lower "
                    "INPUT.SISEG.COMPOSITES.MIN_SOLIDITY if this repeats)", key="message")
    return compose(image, semantic, ids, pool, rng, settings)

