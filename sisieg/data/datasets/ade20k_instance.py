"""ADE20K instance segmentation: categories, layout and the ``sisieg_ade20k_ins_*`` splits.

Under the dataset root, SceneParsing's ``ADEChallengeData2016/`` with ``images/``,
``annotations/`` (150-class semantic ids, 0 = other) and the instance benchmark's
``annotations_instance/`` (R = benchmark category id 1..100, G = instance id, 0 = none), plus
``ade20k_instance_{train,val}.json``, the COCO files written by
``python -m sisieg.data.prepare.ade20k_instance`` in the layout of Mask2Former's preparation
(category id = 150-class semantic id - 1; image id = image stem), so existing files work.

Thing classes are the benchmark's 100 categories in benchmark order; semantic masks are the
150-class annotations (``MODEL.SISEG.NUM_SEMANTIC_CLASSES: 151``, ``THING_SEMANTIC_IDS`` =
``ade20k_thing_semantic_ids()``). Registering touches no dataset file.
"""
import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path


from ..dataset_root import dataset_root
from ..palette import palette_colors
from .prepared import register_prepared_split

MAPPINGS = Path(__file__).resolve().parents[1] / "mappings"
CATEGORIES_FILE = MAPPINGS / "ade20k_instance_categories.json"  # package data, not a dataset file
PREPARE_COMMAND = "python -m sisieg.data.prepare.ade20k_instance"
SPLIT_DIRS = {"train": "training", "val": "validation"}
# Images per split of the full dataset; smaller trees only warn (see the prepare script).
EXPECTED_COUNTS = {"train": 20210, "val": 2000}
ADE20K_SPLITS = {"sisieg_ade20k_ins_train": "train", "sisieg_ade20k_ins_val": "val"}


@lru_cache(maxsize=None)
def _category_table() -> dict:
    with open(CATEGORIES_FILE, encoding="utf-8") as f:
        return json.load(f)


def ade20k_instance_categories() -> list:
    """The 100 thing categories in benchmark order: ``{"id", "name", "semantic_id"}``."""
    return [dict(c) for c in _category_table()["categories"]]


def ade20k_semantic_classes() -> list:
    """Names of the 150 semantic classes; the name of semantic id ``k`` is at ``k - 1``."""
    return [c["name"] for c in _category_table()["semantic_classes"]]


def ade20k_thing_semantic_ids() -> list:
    """Semantic id of each thing category, in thing order (``MODEL.SISEG.THING_SEMANTIC_IDS``)."""
    return [c["semantic_id"] for c in _category_table()["categories"]]


def json_category_id(category: dict) -> int:
    """Category id of ``category`` in the COCO json files (Mask2Former's: semantic id - 1)."""
    return category["semantic_id"] - 1


@dataclass(frozen=True)
class AdeLayout:
    """Where the ADE20K files of a split live under the dataset ``root``."""

    root: Path

    @property
    def base(self) -> Path:
        return Path(self.root) / "ADEChallengeData2016"

    def images(self, split: str) -> Path:
        return self.base / "images" / SPLIT_DIRS[split]

    def semantic_pngs(self, split: str) -> Path:
        return self.base / "annotations" / SPLIT_DIRS[split]

    def instance_pngs(self, split: str) -> Path:
        return self.base / "annotations_instance" / SPLIT_DIRS[split]

    def instance_json(self, split: str) -> Path:
        return self.base / f"ade20k_instance_{split}.json"


def ade20k_metadata() -> dict:
    """Classes, colours and the json-id -> contiguous-id map of the instance benchmark."""
    categories = ade20k_instance_categories()
    semantic_ids = ade20k_thing_semantic_ids()
    return {
        "thing_classes": [c["name"] for c in categories],
        "stuff_classes": ["other", *ade20k_semantic_classes()],
        "thing_colors": palette_colors(semantic_ids),
        "stuff_colors": palette_colors(range(151)),
        "thing_dataset_id_to_contiguous_id": {
            json_category_id(c): i for i, c in enumerate(categories)
        },
        "thing_semantic_ids": semantic_ids,
    }


def register_ade20k_split(name: str, layout: AdeLayout, split: str):
    """Register ``split`` (COCO json + the 150-class semantic PNGs) as ``name``."""
    register_prepared_split(
        name, layout.instance_json(split), layout.images(split), layout.semantic_pngs(split),
        ade20k_metadata(), PREPARE_COMMAND,
    )


def register_all_ade20k(root):
    """Register every split of ADE20K_SPLITS under ``root``."""
    layout = AdeLayout(Path(os.path.expanduser(str(root))))
    for name, split in ADE20K_SPLITS.items():
        register_ade20k_split(name, layout, split)


register_all_ade20k(dataset_root())
