"""Registration of the synthetic shapes splits in Detectron2's catalogs; a split is
generated on first use, once."""
from detectron2.data import DatasetCatalog

from ..dataset_root import dataset_root
from ..synthetic import SHAPE_CLASSES, ensure_split, split_paths
from .coco_semantic import TOUCHING_FLAG, load_coco_semantic, set_coco_semantic_metadata

# name -> (split, num_images, image_size (height, width), seed)
SHAPES_SPLITS = {
    "sisieg_shapes_train": ("train", 600, (256, 256), 0),
    "sisieg_shapes_val": ("val", 100, (256, 256), 1),
    "sisieg_shapes_tiny_train": ("tiny_train", 12, (128, 128), 0),
    "sisieg_shapes_tiny_val": ("tiny_val", 6, (128, 128), 1),
}
THING_COLORS = [[220, 20, 60], [0, 130, 200], [255, 180, 0], [60, 180, 75]]


def shapes_metadata() -> dict:
    """Class names, colours, id map and touching field shared by every shapes split."""
    return {
        "thing_classes": list(SHAPE_CLASSES),
        "stuff_classes": ["background", *SHAPE_CLASSES],
        "thing_colors": THING_COLORS,
        "stuff_colors": [[0, 0, 0], *THING_COLORS],
        "thing_dataset_id_to_contiguous_id": {i + 1: i for i in range(len(SHAPE_CLASSES))},
        "touching_flag": TOUCHING_FLAG,
    }


def register_shapes_split(name, root, split, num_images, image_size, seed):
    """Register ``name`` as ``split`` under ``root``, generated when first loaded."""
    paths = split_paths(root, split)
    files = str(paths.json_file), str(paths.image_root), str(paths.sem_seg_root)

    def load():
        ensure_split(root, split, num_images, image_size, seed)
        return load_coco_semantic(*files, name, extra_annotation_keys=[TOUCHING_FLAG])

    DatasetCatalog.register(name, load)
    set_coco_semantic_metadata(name, *files, shapes_metadata())


def register_all_shapes(root):
    """Register every split of SHAPES_SPLITS under ``root``."""
    for name, (split, num_images, image_size, seed) in SHAPES_SPLITS.items():
        register_shapes_split(name, root, split, num_images, image_size, seed)


# The root is read once, at import (as Detectron2 does for its built-in datasets), so the
# metadata's paths and the files loaded always agree.
register_all_shapes(dataset_root())
