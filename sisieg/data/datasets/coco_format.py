"""Any COCO-format dataset, registered from the config alone (``DATASETS.SISEG_COCO``).

Each entry is ``[name, json_file, image_root, sem_seg_root]``: a COCO instances json, its image
folder and a folder of semantic PNGs named like the images (``<stem>.png``, project convention)
or ``""`` when there is none; the mapper then paints the semantic masks from the instance
annotations (``sisieg.data.rasterize``). Relative paths are under ``$DETECTRON2_DATASETS``.
Registering the same name again with the same files is a no-op; with other files, an error.
Class names and the id map come from the json when the dataset is loaded. Annotations with
``"touching": true`` (a same-class neighbour shares their boundary) are also scored apart
(``segm_touching``), as on the embedded data.
"""
import os

from detectron2.data import DatasetCatalog, MetadataCatalog

from ..dataset_root import dataset_root
from .coco_semantic import IGNORE_LABEL, TOUCHING_FLAG, load_coco_semantic


def register_coco_format(name: str, json_file: str, image_root: str, sem_seg_root: str = None):
    """Register ``name`` (idempotent, see the module docstring)."""
    files = {"json_file": json_file, "image_root": image_root, "sem_seg_root": sem_seg_root or None}
    if name in DatasetCatalog.list():
        _check_same_files(name, files)
        return

    def load():
        if not os.path.isfile(json_file):
            raise FileNotFoundError(f"dataset {name}: annotation file {json_file} not found")
        return load_coco_semantic(json_file, image_root, files["sem_seg_root"], name)

    DatasetCatalog.register(name, load)
    # Annotations flagged ``touching: true`` (if any) get their own metrics (segm_touching).
    MetadataCatalog.get(name).set(evaluator_type="coco", ignore_label=IGNORE_LABEL, touching_flag=TOUCHING_FLAG, **files)


def register_coco_format_entries(entries, root: str = None) -> list:
    """Register each ``[name, json_file, image_root, sem_seg_root]`` of ``entries`` (the value of
    ``DATASETS.SISEG_COCO``), relative paths under ``root`` (default: the dataset root)."""
    root = dataset_root() if root is None else root
    names = []
    for entry in entries:
        if len(entry) not in (3, 4) or not all(isinstance(x, str) for x in entry):
            raise ValueError(
                f"DATASETS.SISEG_COCO entry {entry!r}: expected [name, json_file, image_root, "
                f"sem_seg_root] (strings; sem_seg_root may be \"\" or left out)"
            )
        name, *paths = entry
        paths = [_under(root, p) for p in paths]
        register_coco_format(name, *paths)
        names.append(name)
    return names


def _under(root: str, path: str) -> str:
    """``path`` with ``~`` expanded, relative paths joined to ``root``; "" stays ""."""
    if not path:
        return path
    path = os.path.expanduser(path)
    return path if os.path.isabs(path) else os.path.join(root, path)


def _check_same_files(name: str, files: dict):
    metadata = MetadataCatalog.get(name)
    registered = {key: metadata.get(key, "<unset>") for key in files}
    if registered != files:
        raise ValueError(
            f"dataset {name} is already registered with {registered}; it cannot be registered "
            f"again with {files}: choose another name in DATASETS.SISEG_COCO"
        )
