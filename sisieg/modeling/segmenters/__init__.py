"""Frozen semantic segmenters (the swappable part of SISeg); importing registers them."""
from . import oracle  # noqa: F401  (registers "oracle")
from .base import SEGMENTER_REGISTRY, FrozenSegmenter, SemanticPrediction, build_segmenter

__all__ = ["SEGMENTER_REGISTRY", "FrozenSegmenter", "SemanticPrediction", "build_segmenter"]
