"""The "train_aug" semantic training set of VOC 2012 + SBD (10,582 images).

Images: VOC train ∪ SBD train ∪ SBD val, minus VOC val. Label of each: VOC's own palette PNG
(``SegmentationClass``, copied byte for byte) where VOC has one, else SBD's
``GTcls.Segmentation`` written as a palette PNG with VOC's colours; 255 = ignore. Labels go to
``SegmentationClassTrainAug/``, the list to ``ImageSets/Segmentation/train_aug.txt``, written
after the labels.
"""
import logging

from tqdm import tqdm

from ..atomic_io import (
    copy_atomically,
    remove_leftovers,
    save_png_atomically,
    write_text_atomically,
)
from ..datasets.prepared import read_stems
from ..datasets.voc import VocLayout
from ..palette import voc_palette
from .common import report_failure
from .sbd import read_sbd_segmentation

logger = logging.getLogger(__name__)


def train_aug_stems(layout: VocLayout) -> list:
    """Sorted stems of VOC train ∪ SBD train ∪ SBD val minus VOC val."""
    voc_train, voc_val = (set(read_stems(layout.split_list(s))) for s in ("train", "val"))
    sbd_train, sbd_val = (set(read_stems(layout.sbd_list(s))) for s in ("train", "val"))
    return sorted((voc_train | sbd_train | sbd_val) - voc_val)


def label_source(layout: VocLayout, stem: str):
    """VOC's PNG of ``stem`` when it exists, else SBD's .mat, else None."""
    for path in (layout.class_pngs / f"{stem}.png", layout.sbd_cls / f"{stem}.mat"):
        if path.is_file():
            return path
    return None


def write_label(source, target):
    """Copy a VOC PNG, or convert an SBD .mat to a palette PNG, atomically."""
    if source.suffix == ".png":
        copy_atomically(source, target)
    else:
        save_png_atomically(target, read_sbd_segmentation(source), voc_palette())


def prepare_train_aug(layout: VocLayout, force: bool = False, progress: bool = True) -> list:
    """Write the missing labels (all with ``force``), then the list; return the listed stems.
    Images without a JPEG or without any label are left out, with a warning."""
    remove_leftovers(layout.train_aug_labels)
    remove_leftovers(layout.split_lists)
    listed, left_out = [], []
    for stem in tqdm(train_aug_stems(layout), desc="VOC train_aug labels", disable=not progress):
        source = label_source(layout, stem)
        if source is None or not (layout.images / f"{stem}.jpg").is_file():
            left_out.append(stem)
            continue
        target = layout.train_aug_labels / f"{stem}.png"
        if force or not target.is_file():
            try:
                write_label(source, target)
            except (ValueError, OSError, KeyError) as e:  # a bad file: named, the rest go on
                report_failure(source, e)
                continue
        listed.append(stem)
    if left_out:
        logger.warning(
            "train_aug: %d images left out (no JPEG in %s or no label in %s / %s), e.g. %s",
            len(left_out), layout.images, layout.class_pngs, layout.sbd_cls, left_out[0],
        )
    write_text_atomically(layout.train_aug_list, "".join(f"{stem}\n" for stem in listed))
    return listed
