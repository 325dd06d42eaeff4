"""Shared by the registrations of prepared datasets: the clear error when files are missing."""
import os


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
