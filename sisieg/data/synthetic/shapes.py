"""One synthetic scene: objects of 4 shape classes on a textured background.

Many scenes hold same-class objects that touch (share a boundary without overlapping) or
occlude one another, the case where connected components of a semantic mask merge
instances. As in real images, appearance follows the class: each class has its typical colour
(``CLASS_COLOURS``, jittered a little per object, shaded, noisy), so a segmenter can tell the
classes apart; objects of one class look alike, so where two of them touch the image shows
little of the boundary that the mask does not. The background is textured but nearly grey.
Only the painting draws from the scene's generator after the layout, so the masks do not
depend on the colours: generator version 2 changed the colours alone (version 1 drew them
independently of the class), its masks and annotations are those of version 1.
"""
from typing import List, NamedTuple, Optional

import cv2
import numpy as np

from ..prepare.coco_instances import touching_flags

SHAPE_CLASSES = ("ellipse", "box", "triangle", "ring")
NUM_INSTANCES = (2, 8)  # inclusive range of instances in a scene
DIAMETER_RANGE = (12.0, 80.0)  # object extent in pixels, for a 256-pixel image side
MIN_VISIBLE_AREA = 20  # objects with fewer visible pixels are removed from the scene
TOUCH_PROBABILITY = 0.5  # chance that a scene has a pair of touching same-class objects
OCCLUDE_PROBABILITY = 0.3  # chance that a scene has a same-class object occluding another
CLASS_COLOURS = np.array(  # typical RGB colour of each class, in SHAPE_CLASSES order
    [[205, 70, 60], [70, 170, 80], [60, 95, 205], [215, 190, 60]], np.float64
)
COLOUR_JITTER = 12.0  # per-channel standard deviation of an object's colour around its class's
BACKGROUND_TINT = 15.0  # largest per-channel departure of the background's base from grey


class Shape(NamedTuple):
    """A polygon (with an optional hole) around the origin; points are int32 (x, y)."""

    class_id: int  # 0-based thing class
    outer: np.ndarray
    hole: Optional[np.ndarray]
    radius: float  # largest distance of a point from the origin


class Placed(NamedTuple):
    shape: Shape
    centre: np.ndarray  # int32 (x, y)
    mask: np.ndarray  # (H, W) bool, the whole shape


class Scene(NamedTuple):
    image: np.ndarray  # (H, W, 3) uint8 RGB
    semantic: np.ndarray  # (H, W) uint8: 0 background, k = class k-1
    masks: List[np.ndarray]  # visible (H, W) bool mask per instance; disjoint
    classes: List[int]  # 0-based class per instance
    touching: List[bool]  # whether the instance is 4-adjacent to a same-class instance
    overlapping: Optional[List[bool]] = None  # whole shape overlaps a same-class object's (occluding pair; not on disk)


def draw_scene(rng: np.random.Generator, size) -> Scene:
    """Draw a scene of ``size`` (height, width) with 2 to 8 visible instances."""
    while True:
        placed = _visible(_layout(rng, size), size)
        if len(placed) >= NUM_INSTANCES[0]:
            break
    labels = _label_map([p.mask for p in placed], size)
    masks = [labels == i + 1 for i in range(len(placed))]
    classes = [p.shape.class_id for p in placed]
    semantic = np.array([0] + [c + 1 for c in classes], np.uint8)[labels]
    image = _background(rng, size)
    for p, mask in zip(placed, masks):
        _paint_object(rng, image, mask, p)
    image = np.clip(image, 0, 255).astype(np.uint8)
    return Scene(image, semantic, masks, classes, touching_flags(labels, classes), _overlapping(placed))


def _overlapping(placed: List[Placed]) -> List[bool]:
    """For each object, whether its whole shape overlaps the whole shape of another object of its
    class: one of them occludes the other, so the semantic mask alone cannot say which owns the
    overlap (the image can: each object has its own shade)."""
    flags = []
    for i, p in enumerate(placed):  # a loop over the few objects of one scene
        flags.append(any(j != i and q.shape.class_id == p.shape.class_id and (q.mask & p.mask).any()
                         for j, q in enumerate(placed)))
    return flags


def _layout(rng, size) -> List[Placed]:
    """Objects in painting order: random ones, and touching or occluding same-class pairs."""
    scale = min(size) / 256
    labels = np.zeros(size, np.int32)
    placed = []
    for unit in _units(rng):
        first = _random_shape(rng, int(rng.integers(len(SHAPE_CLASSES))), scale)
        _place(placed, labels, first, _random_centre(rng, size))
        if unit == "single":
            continue
        anchor = placed[-1]
        second = _random_shape(rng, first.class_id, scale)
        if unit == "touch":
            centre = _touching_centre(rng, second, anchor, labels == len(placed))
        else:
            centre = _occluding_centre(rng, second, anchor)
        _place(placed, labels, second, _random_centre(rng, size) if centre is None else centre)
    return placed


def _units(rng) -> List[str]:
    """Shuffled units of a scene: "touch" / "occlude" pairs and "single" objects."""
    count = int(rng.integers(NUM_INSTANCES[0], NUM_INSTANCES[1] + 1))
    chances = (("touch", TOUCH_PROBABILITY), ("occlude", OCCLUDE_PROBABILITY))
    pairs = [kind for kind, chance in chances if rng.random() < chance][: count // 2]
    units = pairs + ["single"] * (count - 2 * len(pairs))
    rng.shuffle(units)
    return units


def _place(placed, labels, shape, centre):
    """Paint ``shape`` at ``centre`` on top of ``labels`` (ids 1, 2, ... in order)."""
    mask = _render(shape, centre, labels.shape)
    placed.append(Placed(shape, centre, mask))
    labels[mask] = len(placed)


def _visible(placed, size) -> List[Placed]:
    """The objects with at least MIN_VISIBLE_AREA visible pixels (removing one only uncovers
    pixels of the others, so one pass suffices)."""
    labels = _label_map([p.mask for p in placed], size)
    areas = np.bincount(labels.ravel(), minlength=len(placed) + 1)[1:]
    return [p for p, area in zip(placed, areas) if area >= MIN_VISIBLE_AREA]


def _label_map(masks, size) -> np.ndarray:
    """Instance ids 1..n painted in order (later on top), 0 elsewhere."""
    labels = np.zeros(size, np.int32)
    for i, mask in enumerate(masks):
        labels[mask] = i + 1
    return labels


def _random_shape(rng, class_id, scale) -> Shape:
    """A shape of class ``class_id`` with random size, aspect ratio and rotation."""
    radius = 0.5 * scale * np.exp(rng.uniform(*np.log(DIAMETER_RANGE)))
    aspect = np.array([1.0, rng.uniform(0.5, 1.0)])
    name = SHAPE_CLASSES[class_id]
    hole = None
    if name == "box":
        outer = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * aspect * radius
    elif name == "triangle":
        angles = np.pi / 2 + np.arange(3) * 2 * np.pi / 3 + rng.uniform(-0.3, 0.3, 3)
        lengths = radius * rng.uniform(0.8, 1.0, (3, 1))
        outer = np.stack([np.cos(angles), np.sin(angles)], 1) * lengths * aspect
    else:
        angles = np.linspace(0, 2 * np.pi, 48, endpoint=False)
        outer = np.stack([np.cos(angles), np.sin(angles)], 1) * aspect * radius
        if name == "ring":
            hole = outer * rng.uniform(0.4, 0.65)
    rotation = rng.uniform(0, 2 * np.pi)
    matrix = np.array([[np.cos(rotation), np.sin(rotation)], [-np.sin(rotation), np.cos(rotation)]])
    outer = np.round(outer @ matrix).astype(np.int32)
    hole = None if hole is None else np.round(hole @ matrix).astype(np.int32)
    return Shape(class_id, outer, hole, float(np.linalg.norm(outer, axis=1).max()))


def _render(shape, centre, size) -> np.ndarray:
    """(H, W) bool mask of ``shape`` placed at ``centre``."""
    mask = np.zeros(size, np.uint8)
    cv2.fillPoly(mask, [shape.outer + centre], 1)
    if shape.hole is not None:
        cv2.fillPoly(mask, [shape.hole + centre], 0)
    return mask.astype(bool)


def _random_centre(rng, size) -> np.ndarray:
    height, width = size
    fraction = rng.uniform(0.1, 0.9, 2)
    return (fraction * (width, height)).astype(np.int32)


def _touching_centre(rng, shape, anchor: Placed, anchor_visible) -> Optional[np.ndarray]:
    """Centre where ``shape`` touches ``anchor_visible`` (4-adjacent, no overlap), reached by
    sliding ``shape`` towards the anchor from a random direction; None if it never meets it."""
    angle = rng.uniform(0, 2 * np.pi)
    distance = anchor.shape.radius + shape.radius + 2
    start = anchor.centre + distance * np.array([np.cos(angle), np.sin(angle)])
    previous = None
    for centre in _staircase(start, anchor.centre):
        if (_render(shape, centre, anchor_visible.shape) & anchor_visible).any():
            return previous
        previous = centre
    return None


def _staircase(start, end) -> List[np.ndarray]:
    """Integer points from ``start`` to ``end``, consecutive ones 4-adjacent: the last point
    before a first overlap is then 4-adjacent to the overlapped mask."""
    steps = 2 * int(np.abs(end - start).sum()) + 2
    line = np.round(start + np.linspace(0, 1, steps)[:, None] * (end - start)).astype(np.int32)
    path = [line[0]]
    for point in line[1:]:
        last = path[-1]
        if (point != last).all():
            path.append(np.array([point[0], last[1]], np.int32))
        if (point != path[-1]).any():
            path.append(point)
    return path


def _occluding_centre(rng, shape, anchor: Placed) -> np.ndarray:
    """Centre near ``anchor`` so that ``shape``, painted later, likely covers part of it."""
    angle = rng.uniform(0, 2 * np.pi)
    distance = rng.uniform(0.2, 0.6) * (anchor.shape.radius + shape.radius)
    offset = distance * np.array([np.cos(angle), np.sin(angle)])
    return np.round(anchor.centre + offset).astype(np.int32)


def _background(rng, size) -> np.ndarray:
    """(H, W, 3) float RGB: a nearly grey base, smooth blobs, a gradient, stripes (all grey)
    and pixel noise."""
    height, width = size
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)

    def along(angle):
        return xs * np.cos(angle) + ys * np.sin(angle)

    coarse = rng.uniform(-1, 1, (height // 32 + 2, width // 32 + 2))
    blobs = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    gradient = along(rng.uniform(0, 2 * np.pi)) / max(size)
    period = rng.uniform(8, 48)
    stripes = np.sin(2 * np.pi * along(rng.uniform(0, np.pi)) / period + rng.uniform(0, 2 * np.pi))
    grey = blobs * rng.uniform(10, 50) + gradient * rng.uniform(-60, 60) + stripes * rng.uniform(0, 25)
    base = rng.uniform(40, 215) + rng.uniform(-BACKGROUND_TINT, BACKGROUND_TINT, 3)
    return base + grey[..., None] + rng.normal(0, 6, (height, width, 3))


def _paint_object(rng, image, mask, placed: Placed):
    """Paint the visible ``mask`` of an object: its class's colour jittered, linear shading
    and noise."""
    ys, xs = np.nonzero(mask)
    angle = rng.uniform(0, 2 * np.pi)
    offset = (xs - placed.centre[0]) * np.cos(angle) + (ys - placed.centre[1]) * np.sin(angle)
    shading = offset / max(placed.shape.radius, 1.0) * rng.uniform(0, 25)
    colour = CLASS_COLOURS[placed.shape.class_id] + rng.normal(0, COLOUR_JITTER, 3)
    noise = rng.normal(0, rng.uniform(2, 10), (len(xs), 3))
    image[ys, xs] = colour + shading[:, None] + noise
