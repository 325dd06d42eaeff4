"""Skip-and-report for unreadable images (``INPUT.SISEG.SKIP_UNREADABLE_IMAGES``).

Training skips an image when the data loader meets it (the next image takes its place);
evaluation drops unreadable images before it starts, so no image is evaluated twice (their
ground truth still counts, as misses). Each skip is a line ``<file>\\t<reason>`` in the run's
``skipped_images.txt`` (appended by any data-loader worker), logged at the end of the run.
"""
import logging
import os
from typing import List, Tuple

from detectron2.data.common import DatasetFromList
from torch.utils.data import Dataset
from tqdm import tqdm

from .image_io import UnreadableImageError, read_image

logger = logging.getLogger(__name__)
REPORT_NAME = "skipped_images.txt"


def report_path(output_dir: str) -> str:
    return os.path.join(output_dir, REPORT_NAME)


def record_skip(report: str, file_name: str, reason: str):
    """Append one skipped image to ``report`` (a single short write: safe across workers)."""
    logger.warning(f"Skipping an unreadable image: {reason}")
    if report:
        os.makedirs(os.path.dirname(report) or ".", exist_ok=True)
        with open(report, "a", encoding="utf-8") as f:
            f.write(f"{file_name}\t{reason}\n")


def read_skips(report: str) -> List[Tuple[str, str]]:
    """The (file, reason) pairs recorded in ``report``, each file once."""
    if not os.path.exists(report):
        return []
    skips = {}
    with open(report, encoding="utf-8") as f:
        for line in f:
            file_name, _, reason = line.rstrip("\n").partition("\t")
            skips.setdefault(file_name, reason)
    return list(skips.items())


def log_skips(report: str):
    """Log the images a run skipped, if any."""
    skips = read_skips(report)
    if skips:
        listed = "\n".join(f"  {name}: {reason}" for name, reason in skips)
        logger.warning(f"{len(skips)} unreadable image(s) were skipped (listed in {report}):\n{listed}")


def readable_records(records: List[dict], report: str, image_format: str = "RGB") -> List[dict]:
    """``records`` whose images can be read; the others are recorded in ``report``."""
    kept = []
    for record in tqdm(records, desc="checking images", unit="image", leave=False):
        try:
            read_image(record["file_name"], image_format)
        except UnreadableImageError as e:
            record_skip(report, record["file_name"], str(e))
            continue
        kept.append(record)
    return kept


class SkippingMapDataset(Dataset):
    """``mapper`` applied to ``records``; where it skips a record (returns None) the next
    record is mapped instead, so a training batch stays full. (Detectron2's MapDataset would
    draw a random one, with a call that fails on Python 3.11.)"""

    def __init__(self, records: List[dict], mapper):
        self.records = DatasetFromList(records, copy=False)  # serialised: no copy-on-read growth
        self.mapper = mapper

    def __len__(self):
        return len(self.records)

    def __getitem__(self, index: int):
        for step in range(len(self.records)):
            mapped = self.mapper(self.records[(index + step) % len(self.records)])
            if mapped is not None:
                return mapped
        raise RuntimeError("every image of the training set was skipped as unreadable")
