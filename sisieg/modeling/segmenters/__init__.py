"""Frozen semantic segmenters (the swappable part of SISeg); importing registers them."""
from . import detectron2_model, files, hard_pixel_head, oracle, torchvision_model  # noqa: F401  (register them)
from .base import SEGMENTER_REGISTRY, FrozenSegmenter, SemanticPrediction, build_segmenter

__all__ = ["SEGMENTER_REGISTRY", "FrozenSegmenter", "SemanticPrediction", "build_segmenter"]
