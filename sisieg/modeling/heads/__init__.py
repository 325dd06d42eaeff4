"""The trainable heads on the shared backbone, built by name from the config (registries)."""
from . import center_heatmap, fine_displacement, irnet_boundary, irnet_displacement  # noqa: F401  (register)
from .registry import CBR_HEAD_REGISTRY, CENTER_HEAD_REGISTRY, DFM_HEAD_REGISTRY
from .registry import build_cbr_head, build_center_head, build_dfm_head

__all__ = [
    "CBR_HEAD_REGISTRY", "CENTER_HEAD_REGISTRY", "DFM_HEAD_REGISTRY", "build_cbr_head", "build_center_head",
    "build_dfm_head",
]
