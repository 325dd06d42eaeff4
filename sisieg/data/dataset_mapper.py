"""``SISegDatasetMapper``: a dataset record -> the model's input dict.

Reads the image and its semantic mask (checked against each other; painted from the
instance annotations by ``rasterize_semantic`` when the record has no semantic PNG), applies the
augmentations of ``INPUT.SISEG`` in training (random rescale, crop, flip) or the test
resize, and returns ``image`` (C, H, W) uint8, ``sem_seg`` (H, W) long, ``height``,
``width`` and the record's other fields. Instance annotations are not needed by the
model and are dropped. An image that cannot be read is an error naming it, or, with
``INPUT.SISEG.SKIP_UNREADABLE_IMAGES``, a skip recorded in the run's report (``None``
returned: the training loader maps the next image instead, see skipped_images).
"""
import copy
from typing import List, Optional, Sequence

import numpy as np
import torch
from detectron2.config import configurable
from detectron2.data import detection_utils as utils
from detectron2.data import DatasetCatalog
from detectron2.data import transforms as T

from ..config import thing_semantic_ids
from ..errors import InputError
from .composites import LABEL_FREE_SUPERVISIONS, CompositeSettings, composite_settings, label_free_ids
from .image_io import UnreadableImageError, check_input_pixels, read_image
from .instance_ids import has_instance_labels, instance_id_map
from .mask_corruption import CorruptionSettings, corrupt_mask, corruption_settings
from .proxy_labels import proxy_path, read_proxy_ids
from .rasterize import rasterize_semantic
from .semantic_io import check_semantic_ids, read_semantic_mask
from .skipped_images import record_skip, report_path


class RandomRescale(T.Augmentation):
    """Rescale the image by a factor drawn uniformly from ``scale_range``."""

    def __init__(self, scale_range):
        super().__init__()
        self.scale_range = tuple(scale_range)

    def get_transform(self, image):
        h, w = image.shape[:2]
        scale = np.random.uniform(*self.scale_range)
        new_h, new_w = max(1, int(round(h * scale))), max(1, int(round(w * scale)))
        return T.ResizeTransform(h, w, new_h, new_w)


class SISegDatasetMapper:
    @configurable
    def __init__(
        self,
        *,
        is_train: bool,
        augmentations: List[T.Augmentation],
        image_format: str,
        num_semantic_classes: int,
        ignore_value: int = 255,
        instance_ids: bool = False,
        instance_label_fraction: float = 1.0,
        skip_unreadable: bool = False,
        skip_report: str = "",
        composites: Optional[CompositeSettings] = None,
        thing_ids: Sequence[int] = (),
        donors: Sequence[dict] = (),
        label_free_images: str = "all",
        max_input_pixels: int = 0,
        corruption: Optional[CorruptionSettings] = None,
        proxy_labels: str = "",
        composite_labelled: bool = False,
    ):
        """
        Args:
            is_train: training (augment) or inference.
            augmentations: applied to image and mask alike.
            image_format: Detectron2 image format of the model input ("BGR", "RGB").
            num_semantic_classes: mask ids must lie in [0, this) or equal ``ignore_value``.
            ignore_value: label of unlabelled pixels.
            instance_ids: also return ``instance_ids`` (H, W) long (0 = none, -1 = unknown)
                for records with instance annotations (instance-supervised training, and the
                perfect heads of ``MODEL.SISEG.ORACLE_HEADS`` at evaluation).
            instance_label_fraction: only this fraction of the images (a fixed choice by
                file name) keeps its instance labels, to study partial labelling.
            skip_unreadable: return None for an unreadable image instead of raising.
            skip_report: file listing the skipped images (sisieg.data.skipped_images).
            composites: label-free training (``MODEL.SISEG.SUPERVISION label_free``): instance
                ids from the semantic mask alone, isolated objects labelled and pasted to touch
                (sisieg.data.composites); instance annotations are dropped unread.
            thing_ids: semantic ids of the thing classes (label-free training, corruption).
            donors: records whose isolated objects may be pasted too (label-free training).
            label_free_images: with ``composites``, which images are label-free: "all"
                (``label_free``), "unlabelled" (``mixed``: those outside
                ``instance_label_fraction``; the others keep their instance annotations) or
                "none" (``instance`` with ``composite_labelled``: the others train without
                instance ids).
            max_input_pixels: evaluation: a larger image (after the test resize) is an error
                naming it, before it reaches the model; 0 = no limit.
            corruption: training: also return ``input_sem_seg``, the augmented mask with
                errors drawn on it (sisieg.data.mask_corruption), which the network sees
                instead of ``sem_seg`` (still the targets' mask).
            proxy_labels: label-free training: a folder of proxy instance ids (a trained
                model's confident splits, sisieg/data/proxy_labels.py) used instead of the
                isolated objects alone, for the image and its donors; "" = none.
            composite_labelled: with ``composites``, the images that keep their instance labels
                become composites too (``INPUT.SISEG.COMPOSITES.LABELLED``), pasting their
                annotated instances and their donors' (touching ones included) with exact ids.
        """
        self.is_train = is_train
        self.augmentations = T.AugmentationList(augmentations)
        self.image_format = image_format
        self.num_semantic_classes = num_semantic_classes
        self.ignore_value = ignore_value
        self.instance_ids = instance_ids
        self.instance_label_fraction = instance_label_fraction
        self.skip_unreadable = skip_unreadable
        self.skip_report = skip_report
        self.composites = composites
        self.thing_ids = list(thing_ids)
        self.donors = list(donors)
        self.label_free_images = label_free_images
        self.max_input_pixels = max_input_pixels
        self.corruption = corruption if corruption is not None and corruption.ops else None
        self.proxy_labels = proxy_labels
        self.composite_labelled = composite_labelled and composites is not None

    @classmethod
    def from_config(cls, cfg, is_train: bool = True):
        if is_train:
            aug = []
            if cfg.INPUT.SISEG.RESIZE_LONG_EDGE > 0:  # short edge to L capped at L: long edge = L
                length = cfg.INPUT.SISEG.RESIZE_LONG_EDGE
                aug.append(T.ResizeShortestEdge(length, max_size=length))
            aug.append(RandomRescale(cfg.INPUT.SISEG.SCALE_RANGE))
            if cfg.INPUT.SISEG.CROP_SIZE > 0:
                size = cfg.INPUT.SISEG.CROP_SIZE
                aug.append(T.RandomCrop("absolute", (size, size)))
            if cfg.INPUT.SISEG.HFLIP:
                aug.append(T.RandomFlip(horizontal=True))
        else:
            aug = []
            if cfg.INPUT.MIN_SIZE_TEST > 0:
                aug.append(T.ResizeShortestEdge(cfg.INPUT.MIN_SIZE_TEST, cfg.INPUT.MAX_SIZE_TEST))
        return {
            "is_train": is_train,
            "augmentations": aug,
            "image_format": cfg.INPUT.FORMAT,
            "num_semantic_classes": cfg.MODEL.SISEG.NUM_SEMANTIC_CLASSES,
            "ignore_value": cfg.MODEL.SISEG.IGNORE_VALUE,
            "instance_ids": cfg.MODEL.SISEG.SUPERVISION in ("instance", "mixed") if is_train else cfg.MODEL.SISEG.ORACLE_HEADS,
            "instance_label_fraction": cfg.INPUT.SISEG.INSTANCE_LABEL_FRACTION if is_train else 1.0,
            "skip_unreadable": cfg.INPUT.SISEG.SKIP_UNREADABLE_IMAGES,
            "skip_report": report_path(cfg.OUTPUT_DIR),
            **label_free_options(cfg, is_train),
            "max_input_pixels": 0 if is_train else cfg.MODEL.SISEG.INFERENCE.MAX_INPUT_PIXELS,
            "corruption": corruption_settings(cfg.INPUT.SISEG.MASK_CORRUPTION) if is_train else None,
            "thing_ids": thing_semantic_ids(cfg),
        }

    def __call__(self, dataset_dict: dict) -> dict:
        record = copy.deepcopy(dataset_dict)
        if self._label_free(record) and "sem_seg_file_name" in record:
            record.pop("annotations", None)  # label-free: instance annotations stay unread
        try:
            image = read_image(record["file_name"], self.image_format)
        except UnreadableImageError as e:
            if not self.skip_unreadable:
                raise
            record_skip(self.skip_report, record["file_name"], str(e))
            return None
        utils.check_image_size(record, image)
        image, sem_seg, ids = self._labels(record, image)
        dtype = label_dtype(sem_seg, ids)
        aug_input = T.AugInput(image, sem_seg=None if sem_seg is None else sem_seg.astype(dtype))
        transforms = self.augmentations(aug_input)
        check_input_pixels(record["file_name"], *aug_input.image.shape[:2], self.max_input_pixels)
        record["image"] = torch.as_tensor(np.ascontiguousarray(aug_input.image.transpose(2, 0, 1)))
        if sem_seg is not None:
            record["sem_seg"] = torch.as_tensor(aug_input.sem_seg.astype(np.int64))
            if self.corruption is not None:
                record["input_sem_seg"] = torch.as_tensor(self._corrupted(aug_input.sem_seg).astype(np.int64))
        if ids is not None:
            record["instance_ids"] = torch.as_tensor(resize_instance_ids(ids, dtype, transforms))
        record.pop("annotations", None)
        record.pop("sem_seg_file_name", None)
        return record

    def _labels(self, record: dict, image: np.ndarray):
        """(image, semantic mask or None, instance ids or None) of a record, before augmentation."""
        sem_seg = self._semantic(record, image)
        ids = None
        if self._label_free(record) and sem_seg is not None:
            image, sem_seg, ids = self._composite(image, sem_seg, self._proxy_ids(record, sem_seg))
        elif self._wants_instance_ids(record):
            ids = instance_id_map(record["annotations"], *image.shape[:2])
            if self.composite_labelled and sem_seg is not None:
                image, sem_seg, ids = self._composite(image, sem_seg, ids.astype(np.int32))
        return image, sem_seg, ids

    def _composite(self, image, sem_seg, ids):
        """(image, semantic, ids), a composite with probability ``composites.share``: the known
        ``ids`` (None: the isolated objects) and a donor's pasted to touch."""
        rng = np.random.default_rng(np.random.randint(2**31))  # seeded like the augmentations
        return label_free_ids(image, sem_seg, self.thing_ids, self._donor(rng), rng, self.composites,
                              self.ignore_value, ids=ids)

    def _corrupted(self, sem_seg: np.ndarray) -> np.ndarray:
        """The mask the network sees: ``sem_seg`` with errors drawn on it."""
        rng = np.random.default_rng(np.random.randint(2**31))  # seeded like the augmentations
        return corrupt_mask(sem_seg, rng, self.corruption, self.thing_ids, self.ignore_value)

    def _label_free(self, record: dict) -> bool:
        """Whether the record's instance ids come from its semantic mask (composites): always in
        label-free training; in mixed training, for the images outside the labelled fraction."""
        if self.composites is None or self.label_free_images == "none":
            return False
        return self.label_free_images == "all" or not has_instance_labels(record, self.instance_label_fraction)

    def _donor(self, rng: np.random.Generator):
        """(image, semantic mask, known ids or None) of a random other training image, or None:
        its annotated instances where the donor record carries them (``composite_labelled``),
        else its proxy ids, else None (its isolated objects)."""
        if not self.donors:
            return None
        record = self.donors[int(rng.integers(len(self.donors)))]
        try:
            image = read_image(record["file_name"], self.image_format)
        except UnreadableImageError:
            return None
        semantic = self._semantic(record, image)
        if "annotations" in record:
            return image, semantic, instance_id_map(record["annotations"], *image.shape[:2]).astype(np.int32)
        return image, semantic, self._proxy_ids(record, semantic)

    def _proxy_ids(self, record: dict, sem_seg: np.ndarray):
        """The record's proxy instance ids (self-training), or None without PROXY_LABELS."""
        if not self.proxy_labels:
            return None
        return read_proxy_ids(proxy_path(self.proxy_labels, record["file_name"]), sem_seg.shape)

    def _semantic(self, record: dict, image: np.ndarray):
        """The record's semantic mask (H, W), checked against its image, or None."""
        sem_seg = None
        if "sem_seg_file_name" in record:
            path = record["sem_seg_file_name"]
            sem_seg = read_semantic_mask(path, self.num_semantic_classes, self.ignore_value)
            if sem_seg.shape != image.shape[:2]:
                raise InputError(
                    f"semantic mask {path} is {sem_seg.shape[1]}x{sem_seg.shape[0]} (WxH) but image "
                    f"{record['file_name']} is {image.shape[1]}x{image.shape[0]}"
                )
        elif "annotations" in record:
            sem_seg = rasterize_semantic(record["annotations"], *image.shape[:2])
            source = f"semantic mask painted from the annotations of {record['file_name']}"
            check_semantic_ids(sem_seg, self.num_semantic_classes, self.ignore_value, source)
        return sem_seg

    def _wants_instance_ids(self, record: dict) -> bool:
        """Training: images with instances (and in the labelled fraction); evaluation: every
        image of an instance dataset, an empty one included (all background)."""
        annotated = "annotations" in record if not self.is_train else bool(record.get("annotations"))
        return self.instance_ids and annotated and has_instance_labels(record, self.instance_label_fraction)


def label_free_options(cfg, is_train: bool) -> dict:
    """The mapper's composite arguments: composites, donor records and their use in training
    with ``MODEL.SISEG.SUPERVISION label_free`` (every image), ``mixed`` (the images without
    instance labels; with ``INPUT.SISEG.COMPOSITES.LABELLED`` the others too) or ``instance``
    with ``LABELLED`` (every image, its annotated instances pasted); none otherwise. Donors carry
    their annotations only where ``LABELLED`` lets the composites read them."""
    s = cfg.MODEL.SISEG
    c = cfg.INPUT.SISEG.COMPOSITES
    labelled = bool(c.LABELLED) and s.SUPERVISION in ("instance", "mixed")
    if not is_train or (s.SUPERVISION not in LABEL_FREE_SUPERVISIONS and not labelled):
        return {}
    fraction = cfg.INPUT.SISEG.INSTANCE_LABEL_FRACTION
    donors = [donor_record(r, labelled and has_instance_labels(r, fraction))
              for name in cfg.DATASETS.TRAIN for r in DatasetCatalog.get(name)]
    return {
        "composites": composite_settings(c),
        "donors": [d for d in donors if "sem_seg_file_name" in d or "annotations" in d],
        "label_free_images": {"label_free": "all", "mixed": "unlabelled"}.get(s.SUPERVISION, "none"),
        "proxy_labels": c.PROXY_LABELS,
        "composite_labelled": labelled,
    }


def donor_record(record: dict, with_annotations: bool) -> dict:
    """What a donor keeps of a training record: its image and semantic mask files, and its
    instance annotations only ``with_annotations`` (labelled composites; never label-free)."""
    donor = {k: record[k] for k in ("file_name", "sem_seg_file_name") if k in record}
    if with_annotations and record.get("annotations"):
        donor["annotations"] = record["annotations"]
    return donor


UNKNOWN_CODE = 255  # how an unknown (-1) instance id travels through the transforms as uint8


def resize_instance_ids(ids: np.ndarray, dtype, transforms) -> np.ndarray:
    """Apply ``transforms`` to an instance-id map (-1 = unknown) in ``dtype``; int64 result."""
    if dtype == np.uint8:
        coded = transforms.apply_segmentation(np.where(ids < 0, UNKNOWN_CODE, ids).astype(np.uint8))
        return np.where(coded == UNKNOWN_CODE, -1, coded).astype(np.int64)
    return transforms.apply_segmentation(ids.astype(np.float32)).astype(np.int64)


def label_dtype(sem_seg, ids):
    """One dtype for every label map of an image, so that all are resized alike (nearest):
    uint8 (PIL) when the values fit, float32 (torch; exact below 2**24) otherwise. int64
    cannot be resized by Detectron2's transforms."""
    fits = sem_seg is None or sem_seg.max(initial=0) <= 255
    fits &= ids is None or ids.max(initial=0) < UNKNOWN_CODE
    return np.uint8 if fits else np.float32
