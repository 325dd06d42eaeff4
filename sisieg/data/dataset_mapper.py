"""``SISegDatasetMapper``: a dataset record -> the model's input dict.

Reads the image and its semantic mask (checked against each other), applies the
augmentations of ``INPUT.SISEG`` in training (random rescale, crop, flip) or the test
resize, and returns ``image`` (C, H, W) uint8, ``sem_seg`` (H, W) long, ``height``,
``width`` and the record's other fields. Instance annotations are not needed by the
model and are dropped.
"""
import copy
from typing import List

import numpy as np
import torch
from detectron2.config import configurable
from detectron2.data import detection_utils as utils
from detectron2.data import transforms as T

from .semantic_io import read_semantic_mask


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
    ):
        """
        Args:
            is_train: training (augment) or inference.
            augmentations: applied to image and mask alike.
            image_format: Detectron2 image format of the model input ("BGR", "RGB").
            num_semantic_classes: mask ids must lie in [0, this) or equal ``ignore_value``.
            ignore_value: label of unlabelled pixels.
        """
        self.is_train = is_train
        self.augmentations = T.AugmentationList(augmentations)
        self.image_format = image_format
        self.num_semantic_classes = num_semantic_classes
        self.ignore_value = ignore_value

    @classmethod
    def from_config(cls, cfg, is_train: bool = True):
        if is_train:
            aug = [RandomRescale(cfg.INPUT.SISEG.SCALE_RANGE)]
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
        }

    def __call__(self, dataset_dict: dict) -> dict:
        record = copy.deepcopy(dataset_dict)
        image = utils.read_image(record["file_name"], format=self.image_format)
        utils.check_image_size(record, image)
        sem_seg = None
        if "sem_seg_file_name" in record:
            path = record.pop("sem_seg_file_name")
            sem_seg = read_semantic_mask(path, self.num_semantic_classes, self.ignore_value)
            if sem_seg.shape != image.shape[:2]:
                raise ValueError(
                    f"semantic mask {path} is {sem_seg.shape[1]}x{sem_seg.shape[0]} (WxH) but image "
                    f"{record['file_name']} is {image.shape[1]}x{image.shape[0]}"
                )
        aug_input = T.AugInput(image, sem_seg=None if sem_seg is None else resizable(sem_seg))
        self.augmentations(aug_input)
        record["image"] = torch.as_tensor(np.ascontiguousarray(aug_input.image.transpose(2, 0, 1)))
        if sem_seg is not None:
            record["sem_seg"] = torch.as_tensor(aug_input.sem_seg.astype(np.int64))
        record.pop("annotations", None)
        return record


def resizable(labels: np.ndarray) -> np.ndarray:
    """Labels in a dtype Detectron2's transforms resize exactly: uint8 (PIL) when they fit,
    float32 (exact for ids below 2**24) otherwise; int64 is not resizable."""
    return labels.astype(np.uint8 if labels.max(initial=0) < 256 else np.float32)
