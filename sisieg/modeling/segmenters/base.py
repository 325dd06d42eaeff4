"""The frozen semantic segmenter SISeg wraps: its interface and its registry.

A segmenter maps Detectron2's ``batched_inputs`` to one :class:`SemanticPrediction` per
image, aligned with the (already resized) ``"image"`` tensor. Segmenters are frozen: no
gradients, always in eval mode, no parameters in the optimizer. Add one as a subclass of
:class:`FrozenSegmenter` whose constructor takes the config, registered under a short name
with ``@SEGMENTER_REGISTRY.register_as("name")``; select it with
``MODEL.SISEG.SEGMENTER.NAME``.
"""
from dataclasses import dataclass
from typing import List, Optional

import torch
from torch import nn

from ...utils.registry import NamedRegistry

SEGMENTER_REGISTRY = NamedRegistry("SISEG_SEGMENTER")
SEGMENTER_REGISTRY.__doc__ = "Frozen semantic segmenters for SISeg, built from the config."


@dataclass
class SemanticPrediction:
    """One image's semantic segmentation."""

    labels: torch.Tensor  # (H, W) long: semantic class ids, ignore value where unknown
    probs: Optional[torch.Tensor] = None  # (C, H, W) float class probabilities, if the model has them


class FrozenSegmenter(nn.Module):
    """Base class: frozen at construction and kept in eval mode.

    Its weights come from its own files, loaded once at construction, so they stay out of
    the enclosing model's checkpoints: the model's ``state_dict()`` leaves them out, and
    loading a SISeg checkpoint neither overwrites them nor reports them missing (one saved
    with another segmenter, or with segmenter weights in it, loads the same). The
    segmenter's own ``state_dict()`` / ``load_state_dict()`` are unaffected.
    """

    def freeze(self):
        """Call at the end of ``__init__``, after the weights are loaded."""
        self.requires_grad_(False)
        self.register_state_dict_post_hook(_drop_own_entries)
        self.register_load_state_dict_pre_hook(_keep_own_weights)
        return self.train(False)

    def train(self, mode: bool = True):
        return super().train(False)

    def forward(self, batched_inputs: List[dict]) -> List[SemanticPrediction]:
        raise NotImplementedError


def check_finite(prediction: SemanticPrediction, record: dict, segmenter: nn.Module):
    """FloatingPointError naming the image when a segmenter's probabilities are NaN or Inf."""
    if prediction.probs is not None and not torch.isfinite(prediction.probs).all():
        bad = (~torch.isfinite(prediction.probs)).sum().item()
        raise FloatingPointError(
            f"segmenter {type(segmenter).__name__} returned NaN or Inf probabilities "
            f"({bad} values) for image {record.get('file_name', '<no file_name>')}"
        )


def _drop_own_entries(module, state_dict, prefix, local_metadata):
    """State-dict hook: inside another model (``prefix`` set), leave the weights out."""
    if prefix:
        for key in [k for k in state_dict if k.startswith(prefix)]:
            del state_dict[key]


def _keep_own_weights(module, state_dict, prefix, *args):
    """Load pre-hook: inside another model, replace the checkpoint's entries by the current
    weights, so loading leaves them unchanged and reports nothing missing or unexpected."""
    if prefix:
        for key in [k for k in state_dict if k.startswith(prefix)]:
            del state_dict[key]
        state_dict.update({prefix + k: v for k, v in module.state_dict().items()})


def build_segmenter(cfg) -> FrozenSegmenter:
    """Build the segmenter named by ``MODEL.SISEG.SEGMENTER.NAME``."""
    return SEGMENTER_REGISTRY.build("MODEL.SISEG.SEGMENTER.NAME", cfg.MODEL.SISEG.SEGMENTER.NAME, cfg)
