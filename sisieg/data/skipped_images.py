"""Skip-and-report for unreadable images (``INPUT.SISEG.SKIP_UNREADABLE_IMAGES``).

Training skips an image when the data loader meets it (the next image takes its place);
evaluation drops unreadable images before it starts, so no image is evaluated twice (their
ground truth still counts, as misses). Each skip is a line ``<file>\\t<reason>`` in the run's
``skipped_images.txt`` (appended by any data-loader worker), logged at the end of the run.
"""
import logging
import os
from typing import List, Tuple

import torch
from detectron2.data.common import DatasetFromList
from torch.utils.data import Dataset

from ..errors import InputError

logger = logging.getLogger(__name__)
REPORT_NAME = "skipped_images.txt"
EVALUATION_REPORT = os.path.join("inference", "failed_images.txt")


def report_path(output_dir: str) -> str:
    """Training's list of skipped images."""
    return os.path.join(output_dir, REPORT_NAME)


def evaluation_report_path(output_dir: str) -> str:
    """One evaluation's list of images it could not use (started afresh by each evaluation)."""
    return os.path.join(output_dir, EVALUATION_REPORT)


def record_skip(report: str, file_name: str, reason: str):
    """Append one skipped image to ``report`` (a single short write: safe across workers)."""
    logger.warning(f"Skipping an image: {reason}")
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
        logger.warning(f"{len(skips)} image(s) could not be used (listed in {report}):\n{listed}")


FAILED = "sisieg_failed"  # key of a blank evaluation record: why its image could not be used


class FailSafeMapper:
    """Evaluation: ``mapper``, except that an image it cannot prepare (a user error) becomes a
    blank record ``{FAILED: reason, height, width, ...}`` and a line of ``report``."""

    def __init__(self, mapper, report: str):
        self.mapper = mapper
        self.report = report

    def __call__(self, record: dict) -> dict:
        try:
            mapped = self.mapper(record)
        except InputError as e:
            mapped = None
            reason = str(e)
            record_skip(self.report, record["file_name"], reason)
        else:
            if mapped is not None:
                return mapped
            reason = "skipped"
        blank = {k: record[k] for k in ("file_name", "image_id", "height", "width") if k in record}
        blank[FAILED] = reason
        blank["image"] = torch.zeros(3, 1, 1, dtype=torch.uint8)
        return blank


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
