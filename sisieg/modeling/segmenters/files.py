"""The ``files`` segmenter: precomputed predictions of any external semantic segmenter.

This is how a segmenter sisieg does not run itself (mmsegmentation's OCRNet or SegNeXt,
a model of another framework, ...) is plugged in: run it once over the dataset and write
its predictions to the folder ``MODEL.SISEG.SEGMENTER.FILES_DIR``, one file per image,
named after the image file's stem (``.../images/000123.jpg`` -> ``000123.png``; stems
must therefore be unique within a dataset):

``<stem>.png`` (always)
    Single-channel class ids (8-bit "L", 16-bit "I;16", or palette "P": its indices are
    read, not its colours) at the image's ORIGINAL size (the dataset record's ``height`` x
    ``width``, before the mapper resizes anything), in the dataset's semantic convention:
    0 = background, 1 .. NUM_SEMANTIC_CLASSES-1, 255 = ignore.
``<stem>.npy`` (with ``MODEL.SISEG.SEGMENTER.FILES_PROBS True``)
    Class probabilities as a float16 or float32 ``numpy.save`` array of shape
    (NUM_SEMANTIC_CLASSES, height, width): channel k is class id k, summing to 1 per pixel
    (e.g. the softmax of the model's logits, classes reordered to the dataset's ids).

Both are resized to the model's input tensor: ids by nearest (pixel centres aligned),
probabilities bilinearly. The PNG gives the labels; the probabilities only score instances.
"""
import os
from pathlib import Path
from typing import List, Tuple

import numpy as np
import torch
from torch.nn import functional as F

from ...data.semantic_io import read_semantic_mask
from .base import SEGMENTER_REGISTRY, FrozenSegmenter, SemanticPrediction
from ...errors import InputError

PROB_DTYPES = (np.float16, np.float32)


@SEGMENTER_REGISTRY.register_as("files")
class FilesSegmenter(FrozenSegmenter):
    """Reads ``<FILES_DIR>/<image stem>.png`` (and ``.npy``) for each input image."""

    def __init__(self, cfg):
        super().__init__()
        s = cfg.MODEL.SISEG
        self.root = s.SEGMENTER.FILES_DIR
        if not os.path.isdir(self.root):
            raise FileNotFoundError(
                f"MODEL.SISEG.SEGMENTER.FILES_DIR: prediction folder {self.root!r} not found "
                f"(expected a folder of <image stem>.png files)"
            )
        self.with_probs = s.SEGMENTER.FILES_PROBS
        self.num_classes = s.NUM_SEMANTIC_CLASSES
        self.ignore_value = s.IGNORE_VALUE
        self.freeze()

    def forward(self, batched_inputs: List[dict]) -> List[SemanticPrediction]:
        return [self.predict(record) for record in batched_inputs]

    def predict(self, record: dict) -> SemanticPrediction:
        size = tuple(record["image"].shape[-2:])
        original = (record.get("height", size[0]), record.get("width", size[1]))
        labels = torch.from_numpy(self.read_labels(record, original))
        labels = F.interpolate(labels[None, None].float(), size, mode="nearest-exact")
        probs = None
        if self.with_probs:
            probs = torch.from_numpy(self.read_probs(record, original)).float()
            probs = F.interpolate(probs[None], size, mode="bilinear", align_corners=False)[0]
        return SemanticPrediction(labels=labels[0, 0].long(), probs=probs)

    def read_labels(self, record: dict, original: Tuple[int, int]) -> np.ndarray:
        path = self.prediction_file(record, ".png")
        labels = read_semantic_mask(path, self.num_classes, self.ignore_value)
        check_size(path, labels.shape, original, record["file_name"])
        return labels

    def read_probs(self, record: dict, original: Tuple[int, int]) -> np.ndarray:
        path = self.prediction_file(record, ".npy")
        probs = np.load(path)
        if probs.dtype not in PROB_DTYPES or probs.ndim != 3:
            raise InputError(
                f"{path}: expected a float16/float32 array (C, H, W), "
                f"got {probs.dtype} {probs.shape}"
            )
        if probs.shape[0] != self.num_classes:
            raise InputError(
                f"{path}: {probs.shape[0]} probability channels, expected "
                f"MODEL.SISEG.NUM_SEMANTIC_CLASSES = {self.num_classes}"
            )
        check_size(path, probs.shape[1:], original, record["file_name"])
        return probs

    def prediction_file(self, record: dict, suffix: str) -> str:
        image = record.get("file_name")
        if image is None:
            raise InputError("the 'files' segmenter finds predictions by 'file_name'; input has none")
        path = os.path.join(self.root, Path(image).stem + suffix)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"prediction for image {image} not found: expected {path}")
        return path


def check_size(path: str, shape, original: Tuple[int, int], image: str):
    """ValueError when a prediction's (H, W) is not the image's original size."""
    if tuple(shape) != tuple(original):
        raise InputError(
            f"{path} is {shape[1]}x{shape[0]} (WxH) but image {image} is "
            f"{original[1]}x{original[0]}: predictions must be at the original image size"
        )
