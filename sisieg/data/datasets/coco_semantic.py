"""Datasets made of a COCO instances json plus a folder of semantic PNGs.

Semantic PNG convention of the project: single-channel uint8 class ids, 0 = background,
k = thing class k-1 (order of ``thing_classes``), 255 = ignore.
"""
import json
import os
from pathlib import Path

from detectron2.data import DatasetCatalog, MetadataCatalog
from detectron2.data.datasets import load_coco_json

IGNORE_LABEL = 255
TOUCHING_FLAG = "touching"  # annotation field: a same-class instance shares a boundary


def load_coco_semantic(
    json_file, image_root, sem_seg_root, dataset_name, extra_annotation_keys=None
):
    """Detectron2 dicts of ``json_file``, each with ``sem_seg_file_name`` when ``sem_seg_root``
    is given: ``<sem_seg_root>/<image stem>.png``, which must exist."""
    records = load_coco_json(json_file, image_root, dataset_name, extra_annotation_keys)
    if sem_seg_root is not None:
        for record in records:
            record["sem_seg_file_name"] = semantic_file_for(record["file_name"], sem_seg_root)
    return records


def semantic_file_for(image_file, sem_seg_root) -> str:
    """Path of the semantic PNG of ``image_file``; FileNotFoundError when it is missing."""
    path = os.path.join(sem_seg_root, Path(image_file).stem + ".png")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"semantic mask of image {image_file} not found: expected {path}")
    return path


def register_coco_semantic(
    name, json_file, image_root, sem_seg_root, metadata: dict, extra_annotation_keys=None
):
    """Register ``name`` in Detectron2's catalogs as a COCO json + semantic PNG dataset."""
    files = json_file, image_root, sem_seg_root
    DatasetCatalog.register(
        name, lambda: load_coco_semantic(*files, name, extra_annotation_keys=extra_annotation_keys)
    )
    set_coco_semantic_metadata(name, json_file, image_root, sem_seg_root, metadata)


def set_coco_semantic_metadata(name, json_file, image_root, sem_seg_root, metadata: dict):
    """Set the metadata of ``name``: its files, ``evaluator_type="coco"``, ``ignore_label``
    and ``metadata``. ``thing_classes`` and ``thing_dataset_id_to_contiguous_id`` are stored as
    the list and int->int dict that ``load_coco_json`` sets again, so equal values never conflict.
    """
    MetadataCatalog.get(name).set(
        json_file=json_file,
        image_root=image_root,
        sem_seg_root=sem_seg_root,
        evaluator_type="coco",
        ignore_label=IGNORE_LABEL,
        **_normalised(metadata),
    )


def _normalised(metadata: dict) -> dict:
    """``metadata`` with thing classes as a list and the id map as an int->int dict."""
    metadata = dict(metadata)
    if "thing_classes" in metadata:
        metadata["thing_classes"] = list(metadata["thing_classes"])
    if "thing_dataset_id_to_contiguous_id" in metadata:
        id_map = metadata["thing_dataset_id_to_contiguous_id"]
        metadata["thing_dataset_id_to_contiguous_id"] = {int(k): int(v) for k, v in id_map.items()}
    return metadata


def annotation_ids_with_flag(json_file, flag) -> set:
    """Ids of the annotations of ``json_file`` whose field ``flag`` is true."""
    with open(json_file, encoding="utf-8") as f:
        annotations = json.load(f)["annotations"]
    return {ann["id"] for ann in annotations if ann.get(flag)}


def touching_annotation_ids(json_file) -> set:
    """Ids of the annotations flagged ``touching`` (same-class neighbour in the image)."""
    return annotation_ids_with_flag(json_file, TOUCHING_FLAG)
