"""Where datasets live: the single place of Detectron2's ``DETECTRON2_DATASETS`` rule."""
import os


def dataset_root() -> str:
    """``$DETECTRON2_DATASETS`` (default ``datasets``), with ``~`` expanded."""
    return os.path.expanduser(os.environ.get("DETECTRON2_DATASETS", "datasets"))
