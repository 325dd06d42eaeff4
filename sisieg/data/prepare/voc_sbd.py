"""Prepare PASCAL VOC 2012 + SBD for sisieg: ``python -m sisieg.data.prepare.voc_sbd [--root DIR]``.

Reads ``VOC2012/`` and ``SBD/dataset/`` under the root and writes (see
``sisieg.data.datasets.voc``) the train_aug labels and list and the COCO instance files of
VOC's train and val segmentation images; then checks the counts (10,582 / 1,464 / 1,449).
Without SBD only VOC's instance splits are prepared (train_aug needs SBD: a warning).
"""
import logging

from ..datasets.voc import EXPECTED_COUNTS, VocLayout
from .common import check_counts, parse_args, require, resolve_root, run_cli, write_coco_unless_present
from .voc_instances import voc_instance_coco
from .voc_train_aug import prepare_train_aug

logger = logging.getLogger(__name__)


def check_inputs(layout: VocLayout) -> bool:
    """SystemExit naming the first expected VOC input that is missing; whether SBD is there
    (SBD, when its folder exists, must be complete)."""
    require(layout.voc, "PASCAL VOC 2012 folder")
    require(layout.images, "VOC images")
    require(layout.class_pngs, "VOC class labels")
    require(layout.object_pngs, "VOC instance labels")
    for split in ("train", "val"):
        require(layout.split_list(split), f"VOC segmentation {split} list")
    if not layout.sbd.exists():
        return False
    require(layout.sbd_cls, "SBD class labels")
    for split in ("train", "val"):
        require(layout.sbd_list(split), f"SBD {split} list")
    return True


def prepare_instance_json(layout: VocLayout, split: str, force=False, progress=True) -> int:
    """Write the COCO file of ``split`` unless it exists; return its number of images."""
    return write_coco_unless_present(
        layout.instance_json(split),
        lambda: voc_instance_coco(layout, split, progress),
        "JPEG, SegmentationClass or SegmentationObject missing",
        force,
    )


def main(argv=None) -> dict:
    """Prepare everything; return the images per split ({"train_aug", "train", "val"})."""
    args = parse_args("Prepare PASCAL VOC 2012 + SBD for sisieg.", argv)
    layout = VocLayout(resolve_root(args.root))
    has_sbd = check_inputs(layout)
    progress = not args.no_progress
    counts = {}
    if has_sbd:
        counts["train_aug"] = len(prepare_train_aug(layout, args.force, progress))
    else:
        logger.warning(
            "SBD not found (expected %s): preparing VOC's instance splits only; train_aug "
            "(sisieg_voc_2012_train_aug_sem, 10,582 semantic masks) needs SBD. Train on "
            "sisieg_voc_2012_train_ins instead, or add SBD and run this again.", layout.sbd,
        )
    for split in ("train", "val"):
        counts[split] = prepare_instance_json(layout, split, args.force, progress)
    check_counts("VOC 2012", counts, EXPECTED_COUNTS)
    return counts


if __name__ == "__main__":
    run_cli(main)
