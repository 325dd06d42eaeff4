"""The ``torchvision`` segmenter: torchvision's VOC-class segmentation models, from a local file.

``MODEL.SISEG.SEGMENTER.TORCHVISION_ARCH`` names one of :data:`ARCHS`; it is built without
any download (``weights=None, weights_backbone=None``, 21 classes) and loaded from
``TORCHVISION_WEIGHTS``: a state_dict, raw or under a ``"model"`` / ``"state_dict"`` key
(e.g. torchvision's released COCO-with-VOC-labels weights saved to a file; their
``aux_classifier`` entries, used in training only, are skipped). It sees the ``"image"``
as RGB in [0, 1] with ImageNet normalisation.

Its 21 classes (background + the 20 VOC classes, in VOC order) become the dataset's
semantic ids through ``TORCHVISION_CLASS_MAP``: 21 dataset ids, one per VOC class in order,
-1 dropping a class (its probability goes to background, id 0); classes mapped to the same
id add up. Empty = VOC's own ids (the dataset must then have 21 semantic classes).
"""
from typing import List, Sequence

import torch
from torch.nn import functional as F
from torchvision.models import segmentation

from ...data.datasets import VOC_CLASSES
from .base import SEGMENTER_REGISTRY, FrozenSegmenter, SemanticPrediction
from .image_format import convert_format
from .weights import check_weights_match, require_file
from ...errors import InputError

ARCHS = (
    "deeplabv3_resnet50",
    "deeplabv3_resnet101",
    "fcn_resnet50",
    "fcn_resnet101",
    "lraspp_mobilenet_v3_large",
)
MODEL_CLASSES = ("background", *VOC_CLASSES)  # the models' 21 outputs, in order
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
WRAPPER_KEYS = ("model", "state_dict")  # where training scripts put the state_dict
SKIPPED_PREFIXES = ("aux_classifier.",)  # training-only head of the released weights


@SEGMENTER_REGISTRY.register_as("torchvision")
class TorchvisionSegmenter(FrozenSegmenter):
    def __init__(self, cfg):
        super().__init__()
        s = cfg.MODEL.SISEG
        arch = s.SEGMENTER.TORCHVISION_ARCH
        self.model = build_torchvision_model(arch)
        load_weights(self.model, s.SEGMENTER.TORCHVISION_WEIGHTS, arch)
        matrix = class_map_matrix(s.SEGMENTER.TORCHVISION_CLASS_MAP, s.NUM_SEMANTIC_CLASSES)
        self.register_buffer("class_map", matrix, persistent=False)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(3, 1, 1), persistent=False)
        self.input_format = cfg.INPUT.FORMAT
        self.freeze()

    @torch.no_grad()
    def forward(self, batched_inputs: List[dict]) -> List[SemanticPrediction]:
        return [self.predict(x["image"]) for x in batched_inputs]

    def predict(self, image: torch.Tensor) -> SemanticPrediction:
        """One (C, H, W) uint8 image -> dataset-id labels and probabilities at its size."""
        rgb = convert_format(image, self.input_format, "RGB").to(self.mean.device).float() / 255
        logits = self.model(((rgb - self.mean) / self.std)[None])["out"][0]
        probs = torch.einsum("dk,khw->dhw", self.class_map, logits.float().softmax(dim=0))
        return SemanticPrediction(labels=probs.argmax(dim=0), probs=probs)


def build_torchvision_model(arch: str) -> torch.nn.Module:
    if arch not in ARCHS:
        raise InputError(
            f"MODEL.SISEG.SEGMENTER.TORCHVISION_ARCH={arch!r}: expected one of {ARCHS}"
        )
    builder = getattr(segmentation, arch)
    return builder(weights=None, weights_backbone=None, num_classes=len(MODEL_CLASSES))


def class_map_matrix(class_map: Sequence[int], num_classes: int) -> torch.Tensor:
    """(num_classes, 21) 0/1 matrix: dataset probabilities = matrix @ VOC probabilities."""
    ids = list(class_map)
    if not ids:
        if num_classes != len(MODEL_CLASSES):
            raise InputError(
                f"the torchvision model predicts {len(MODEL_CLASSES)} VOC classes but "
                f"MODEL.SISEG.NUM_SEMANTIC_CLASSES = {num_classes}: set "
                f"MODEL.SISEG.SEGMENTER.TORCHVISION_CLASS_MAP to map them onto the dataset's ids"
            )
        ids = list(range(num_classes))
    if len(ids) != len(MODEL_CLASSES):
        raise InputError(
            f"MODEL.SISEG.SEGMENTER.TORCHVISION_CLASS_MAP has {len(ids)} entries, expected "
            f"{len(MODEL_CLASSES)}: one dataset id (or -1) per class of {MODEL_CLASSES}"
        )
    bad = [i for i in ids if not -1 <= i < num_classes]
    if bad:
        raise InputError(
            f"MODEL.SISEG.SEGMENTER.TORCHVISION_CLASS_MAP ids {bad} outside -1 .. "
            f"{num_classes - 1} (MODEL.SISEG.NUM_SEMANTIC_CLASSES = {num_classes})"
        )
    targets = torch.tensor(ids).clamp(min=0)  # -1: to background
    return F.one_hot(targets, num_classes).T.float()


def read_state_dict(path: str) -> dict:
    """The state_dict in ``path``: raw or under a wrapper key, ``module.`` prefixes removed,
    training-only entries skipped."""
    require_file(path, "MODEL.SISEG.SEGMENTER.TORCHVISION_WEIGHTS", "torchvision model weights")
    state = torch.load(path, map_location="cpu", weights_only=True)
    for key in WRAPPER_KEYS:
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
            break
    return {
        k.removeprefix("module."): v
        for k, v in state.items()
        if not k.removeprefix("module.").startswith(SKIPPED_PREFIXES)
    }


def load_weights(model: torch.nn.Module, path: str, arch: str):
    """Load ``path`` into ``model``; ValueError naming the file and the keys that do not fit."""
    state = read_state_dict(path)
    expected = model.state_dict()
    check_weights_match(
        path,
        arch,
        missing=[k for k in expected if k not in state],
        unexpected=[k for k in state if k not in expected],
        wrong_shapes=[k for k, v in expected.items() if k in state and state[k].shape != v.shape],
    )
    model.load_state_dict(state)
