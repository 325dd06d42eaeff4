"""PASCAL VOC 2012 (+ SBD): layout, classes and registration of the ``sisieg_voc_2012_*`` splits.

Under the dataset root (``$DETECTRON2_DATASETS``), the standard trees ``VOC2012/`` and
``SBD/dataset/``, plus what ``python -m sisieg.data.prepare.voc_sbd`` writes:

- ``VOC2012/SegmentationClassTrainAug/<stem>.png``: the labels of the 10,582 "train_aug"
  images (palette-indexed class ids, 255 = ignore): VOC's own PNG where VOC labels the image,
  else SBD's ``GTcls.Segmentation``;
- ``VOC2012/ImageSets/Segmentation/train_aug.txt``: their list;
- ``VOC2012/sisieg_annotations/instances_{train,val}.json``: COCO instances (RLE) of VOC's
  ``SegmentationObject`` images, category ids 1..20 in VOC order; void (255) is in no instance.

Registering touches no file; loading a split that is not prepared names the missing file and
the command to run.
"""
import os
from dataclasses import dataclass
from pathlib import Path

from detectron2.data import DatasetCatalog, MetadataCatalog

from ..dataset_root import dataset_root
from ..palette import palette_colors
from .coco_semantic import IGNORE_LABEL
from .prepared import read_stems, register_prepared_split, require_prepared

VOC_CLASSES = (
    "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa",
    "train", "tvmonitor",
)
PREPARE_COMMAND = "python -m sisieg.data.prepare.voc_sbd"
# Images per split of the full datasets; smaller trees only warn (see the prepare script).
EXPECTED_COUNTS = {"train_aug": 10582, "train": 1464, "val": 1449}
# name -> split: "train_aug" is semantic-only (training); the others are COCO instance sets.
VOC_SPLITS = {
    "sisieg_voc_2012_train_aug_sem": "train_aug",
    "sisieg_voc_2012_train_ins": "train",
    "sisieg_voc_2012_val_ins": "val",
}


@dataclass(frozen=True)
class VocLayout:
    """Where the VOC 2012 and SBD files live under the dataset ``root``."""

    root: Path

    @property
    def voc(self) -> Path:
        return Path(self.root) / "VOC2012"

    @property
    def images(self) -> Path:
        return self.voc / "JPEGImages"

    @property
    def class_pngs(self) -> Path:
        return self.voc / "SegmentationClass"

    @property
    def object_pngs(self) -> Path:
        return self.voc / "SegmentationObject"

    @property
    def split_lists(self) -> Path:
        return self.voc / "ImageSets" / "Segmentation"

    @property
    def train_aug_labels(self) -> Path:
        return self.voc / "SegmentationClassTrainAug"

    @property
    def train_aug_list(self) -> Path:
        return self.split_lists / "train_aug.txt"

    @property
    def instance_jsons(self) -> Path:
        return self.voc / "sisieg_annotations"

    @property
    def sbd(self) -> Path:
        return Path(self.root) / "SBD" / "dataset"

    @property
    def sbd_cls(self) -> Path:
        return self.sbd / "cls"

    def split_list(self, split: str) -> Path:
        return self.split_lists / f"{split}.txt"

    def sbd_list(self, split: str) -> Path:
        return self.sbd / f"{split}.txt"

    def instance_json(self, split: str) -> Path:
        return self.instance_jsons / f"instances_{split}.json"


def voc_metadata() -> dict:
    """Classes, colours (VOC's palette) and the id map shared by every VOC split."""
    ids = range(1, len(VOC_CLASSES) + 1)
    return {
        "thing_classes": list(VOC_CLASSES),
        "stuff_classes": ["background", *VOC_CLASSES],
        "thing_colors": palette_colors(ids),
        "stuff_colors": palette_colors(range(len(VOC_CLASSES) + 1)),
        "thing_dataset_id_to_contiguous_id": {i: i - 1 for i in ids},
        "thing_semantic_ids": list(ids),
    }


def load_voc_train_aug(layout: VocLayout, name: str) -> list:
    """Semantic-only records of the train_aug list: image, label PNG, image id (the stem)."""
    require_prepared(layout.train_aug_list, name, PREPARE_COMMAND)
    stems = read_stems(layout.train_aug_list)
    labels = [layout.train_aug_labels / f"{stem}.png" for stem in stems]
    missing = [str(p) for p in labels if not p.is_file()]
    if missing:
        raise FileNotFoundError(
            f"dataset {name}: {len(missing)} of the {len(stems)} labels listed in "
            f"{layout.train_aug_list} are missing, e.g. {missing[0]}; run `{PREPARE_COMMAND}`"
        )
    return [
        {"file_name": str(layout.images / f"{s}.jpg"), "sem_seg_file_name": str(p), "image_id": s}
        for s, p in zip(stems, labels)
    ]


def register_voc_train_aug(name: str, layout: VocLayout):
    """Register the semantic-only train_aug split (``evaluator_type`` "sem_seg")."""
    DatasetCatalog.register(name, lambda: load_voc_train_aug(layout, name))
    MetadataCatalog.get(name).set(
        image_root=str(layout.images),
        sem_seg_root=str(layout.train_aug_labels),
        image_list=str(layout.train_aug_list),
        evaluator_type="sem_seg",
        ignore_label=IGNORE_LABEL,
        **voc_metadata(),
    )


def register_voc_instances(name: str, layout: VocLayout, split: str):
    """Register a COCO instance split (json from the prepare step, VOC's class PNGs)."""
    register_prepared_split(
        name, layout.instance_json(split), layout.images, layout.class_pngs, voc_metadata(),
        PREPARE_COMMAND,
    )


def register_all_voc(root):
    """Register every split of VOC_SPLITS under ``root``."""
    layout = VocLayout(Path(os.path.expanduser(str(root))))
    for name, split in VOC_SPLITS.items():
        if split == "train_aug":
            register_voc_train_aug(name, layout)
        else:
            register_voc_instances(name, layout, split)


register_all_voc(dataset_root())
