"""A crowded scene for benchmarks: many small objects on a jittered grid, neighbours touching.

The embedded shapes hold 2-8 objects; cell and nuclei images hold hundreds, and the
post-processing's cost must not grow with their number (``tools/benchmark.py --scene
crowded``). Ellipses, each given one of the 4 classes at random (so same-class
neighbours touch and occlude often), painted in order on a jittered grid whose pitch is
about an object's diameter.
"""
import cv2
import numpy as np

from ..prepare.coco_instances import touching_flags
from .shapes import CLASS_COLOURS, SHAPE_CLASSES, Scene


def crowded_scene(rng: np.random.Generator, size: int, count: int) -> Scene:
    """A ``size`` x ``size`` scene with about ``count`` ellipses (those left with fewer than
    20 visible pixels are dropped); image colours follow the class, with noise."""
    side = int(np.ceil(np.sqrt(count)))
    pitch = size / side
    cells = rng.permutation(side * side)[:count]
    centres = (np.stack([cells % side, cells // side], 1) + 0.5 + rng.uniform(-0.2, 0.2, (count, 2))) * pitch
    axes = pitch * rng.uniform(0.45, 0.65, (count, 2))
    angles = rng.uniform(0, 180, count)
    classes = rng.integers(len(SHAPE_CLASSES), size=count)
    labels = np.zeros((size, size), np.int32)
    for k in range(count):  # a loop over objects while drawing the benchmark's input, not in the model
        centre = (int(round(centres[k, 0])), int(round(centres[k, 1])))
        half_axes = (int(round(axes[k, 0])), int(round(axes[k, 1])))
        cv2.ellipse(labels, centre, half_axes, float(angles[k]), 0, 360, k + 1, -1)
    areas = np.bincount(labels.ravel(), minlength=count + 1)
    keep = np.flatnonzero(areas[1:] >= 20) + 1
    remap = np.zeros(count + 1, np.int32)
    remap[keep] = np.arange(1, len(keep) + 1)
    labels = remap[labels]
    kept_classes = [int(c) for c in classes[keep - 1]]
    semantic = np.concatenate([[0], np.asarray(kept_classes) + 1]).astype(np.uint8)[labels]
    colours = np.concatenate([[[40.0, 40.0, 40.0]], CLASS_COLOURS])  # dark background
    image = np.clip(colours[semantic] + rng.normal(0, 12, (size, size, 3)), 0, 255).astype(np.uint8)
    masks = [labels == i for i in range(1, len(keep) + 1)]
    return Scene(image, semantic, masks, kept_classes, touching_flags(labels, kept_classes))

