"""Shared by the registrations of prepared datasets: lazy loading with a clear error when
the prepare step has not been run."""
import os

from detectron2.data import DatasetCatalog

from .coco_semantic import load_coco_semantic, set_coco_semantic_metadata


def require_prepared(path, dataset_name: str, prepare_command: str):
    """FileNotFoundError naming ``path`` and the command that writes it, when it is missing."""
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"dataset {dataset_name}: {path} not found. With the dataset downloaded under "
            f"$DETECTRON2_DATASETS (default ./datasets), run `{prepare_command}`"
        )


def read_stems(path) -> list:
    """The non-empty lines of an image list (one image stem per line), stripped."""
    with open(path, encoding="utf-8") as f:
        return [line.strip() for line in f if line.strip()]


def register_prepared_split(name, json_file, image_root, sem_seg_root, metadata, prepare_command):
    """Register a COCO json + semantic PNG split written by ``prepare_command``; loading it
    first checks that the json exists. Registering reads no file."""
    files = str(json_file), str(image_root), str(sem_seg_root)

    def load():
        require_prepared(files[0], name, prepare_command)
        return load_coco_semantic(*files, name)

    DatasetCatalog.register(name, load)
    set_coco_semantic_metadata(name, *files, metadata)
