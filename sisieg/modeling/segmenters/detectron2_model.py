"""The ``detectron2`` segmenter: any Detectron2 model whose outputs carry ``sem_seg``.

E.g. Detectron2's ``SemanticSegmentor`` with ``SemSegFPNHead``, as trained by
``tools/train_net.py``. The model is built from its own config file
(``MODEL.SISEG.SEGMENTER.D2_CONFIG``: Detectron2 defaults + sisieg's keys, then the file)
and its checkpoint (``MODEL.SISEG.SEGMENTER.D2_WEIGHTS``), which must fit it exactly. It
sees the same ``"image"`` tensors as SISeg (channels flipped when its ``INPUT.FORMAT``
differs) and answers at their size; the softmax of its ``sem_seg`` logits gives the
probabilities, their argmax the labels. Its classes must be the dataset's semantic ids.
"""
from typing import List

import torch
from detectron2.checkpoint import DetectionCheckpointer
from detectron2.modeling import build_model

from .base import SEGMENTER_REGISTRY, FrozenSegmenter, SemanticPrediction
from .image_format import convert_format
from .weights import check_incompatible_keys, require_file
from ...errors import InputError


@SEGMENTER_REGISTRY.register_as("detectron2")
class Detectron2Segmenter(FrozenSegmenter):
    def __init__(self, cfg):
        super().__init__()
        s = cfg.MODEL.SISEG
        model_cfg = load_model_config(s.SEGMENTER.D2_CONFIG, cfg.MODEL.DEVICE)
        self.num_classes = s.NUM_SEMANTIC_CLASSES
        self.config_file = s.SEGMENTER.D2_CONFIG
        model_classes = model_cfg.MODEL.SEM_SEG_HEAD.NUM_CLASSES
        if model_classes != self.num_classes:
            raise InputError(
                f"{self.config_file}: MODEL.SEM_SEG_HEAD.NUM_CLASSES = {model_classes} but "
                f"MODEL.SISEG.NUM_SEMANTIC_CLASSES = {self.num_classes}: the semantic model "
                f"must predict the dataset's semantic classes"
            )
        self.model = build_model(model_cfg)
        load_weights(self.model, s.SEGMENTER.D2_WEIGHTS)
        self.input_format = cfg.INPUT.FORMAT
        self.model_format = model_cfg.INPUT.FORMAT
        self.freeze()

    @torch.no_grad()
    def forward(self, batched_inputs: List[dict]) -> List[SemanticPrediction]:
        outputs = self.model([self.model_input(x) for x in batched_inputs])
        return [self.prediction(output["sem_seg"]) for output in outputs]

    def model_input(self, record: dict) -> dict:
        """The image in the model's format; outputs asked at the tensor's own size."""
        image = convert_format(record["image"], self.input_format, self.model_format)
        height, width = image.shape[-2:]
        return {"image": image, "height": height, "width": width}

    def prediction(self, logits: torch.Tensor) -> SemanticPrediction:
        if logits.shape[0] != self.num_classes:
            raise InputError(
                f"the model of {self.config_file} returned {logits.shape[0]} sem_seg channels, "
                f"expected MODEL.SISEG.NUM_SEMANTIC_CLASSES = {self.num_classes}"
            )
        probs = logits.float().softmax(dim=0)
        return SemanticPrediction(labels=probs.argmax(dim=0), probs=probs)


def load_model_config(config_file: str, device: str):
    """The semantic model's frozen config, through the project's one entry point
    (``sisieg.engine.setup.build_config``: Detectron2 defaults, sisieg's keys, model-zoo
    ``_BASE_`` files, the CPU fallback), on our device."""
    from ...engine.setup import build_config  # here, not at the top: the engine imports the model

    require_file(config_file, "MODEL.SISEG.SEGMENTER.D2_CONFIG", "Detectron2 config file")
    return build_config(config_file, ["MODEL.DEVICE", device])


def load_weights(model: torch.nn.Module, path: str):
    """Load a Detectron2 checkpoint (.pth, or .pkl of the model zoo) that fits ``model``
    exactly; DetectionCheckpointer alone would only log what does not fit."""
    require_file(path, "MODEL.SISEG.SEGMENTER.D2_WEIGHTS", "semantic model weights")
    checkpointer = DetectionCheckpointer(model)
    # _load_file / _load_model are the checkpointer's documented override points; called
    # directly, they give the incompatible keys instead of a log line.
    incompatible = checkpointer._load_model(checkpointer._load_file(path))
    check_incompatible_keys(path, type(model).__name__, incompatible)
