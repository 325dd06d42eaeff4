"""Dataset registration: importing this package registers the datasets."""
from . import ade20k_instance, shapes, voc  # noqa: F401  (register their splits on import)
from .ade20k_instance import ADE20K_SPLITS, ade20k_instance_categories, ade20k_thing_semantic_ids
from .coco_format import register_coco_format, register_coco_format_entries
from .coco_semantic import (
    annotation_ids_with_flag,
    load_coco_semantic,
    register_coco_semantic,
    touching_annotation_ids,
)
from .shapes import SHAPES_SPLITS, register_shapes_split
from .voc import VOC_CLASSES, VOC_SPLITS

__all__ = [
    "ADE20K_SPLITS",
    "SHAPES_SPLITS",
    "VOC_CLASSES",
    "VOC_SPLITS",
    "ade20k_instance_categories",
    "ade20k_thing_semantic_ids",
    "annotation_ids_with_flag",
    "load_coco_semantic",
    "register_coco_format",
    "register_coco_format_entries",
    "register_coco_semantic",
    "register_shapes_split",
    "touching_annotation_ids",
]
