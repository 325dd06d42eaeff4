"""Dataset registration: importing this package registers the datasets."""
from . import shapes  # noqa: F401  (registers the synthetic shapes splits)
from .coco_semantic import (
    annotation_ids_with_flag,
    load_coco_semantic,
    register_coco_semantic,
    touching_annotation_ids,
)
from .shapes import SHAPES_SPLITS, register_shapes_split

__all__ = [
    "SHAPES_SPLITS",
    "annotation_ids_with_flag",
    "load_coco_semantic",
    "register_coco_semantic",
    "register_shapes_split",
    "touching_annotation_ids",
]
