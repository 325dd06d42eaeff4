"""The registries of the trainable heads: pick one by name in the config.

A head is an ``nn.Module`` whose constructor is ``@configurable`` with
``from_config(cls, cfg, input_shape, input_channels)`` (the backbone's output shapes and the
channels of the network input), an attribute ``stride`` (input pixels per output pixel) and
``forward(features, inputs)`` -> (N, C, H / stride, W / stride). Register one with
``@DFM_HEAD_REGISTRY.register_as("name")`` and select it with ``MODEL.SISEG.DFM.NAME``.
"""
from ...utils.registry import NamedRegistry

DFM_HEAD_REGISTRY = NamedRegistry("SISEG_DFM_HEAD")
DFM_HEAD_REGISTRY.__doc__ = "Displacement-field heads: (N, 2, h, w) offsets (dy, dx) in output pixels."
CBR_HEAD_REGISTRY = NamedRegistry("SISEG_CBR_HEAD")
CBR_HEAD_REGISTRY.__doc__ = "Boundary heads: (N, 1, h, w) boundary logits."
CENTER_HEAD_REGISTRY = NamedRegistry("SISEG_CENTER_HEAD")
CENTER_HEAD_REGISTRY.__doc__ = (
    "Centre heads: (N, 1, h, w) centre logits, and ``losses(logits, instances)`` against instance ids."
)


def build_dfm_head(cfg, input_shape, input_channels: int):
    """The displacement head named by ``MODEL.SISEG.DFM.NAME``."""
    name = cfg.MODEL.SISEG.DFM.NAME
    return DFM_HEAD_REGISTRY.build("MODEL.SISEG.DFM.NAME", name, cfg, input_shape, input_channels)


def build_cbr_head(cfg, input_shape, input_channels: int):
    """The boundary head named by ``MODEL.SISEG.CBR.NAME``."""
    name = cfg.MODEL.SISEG.CBR.NAME
    return CBR_HEAD_REGISTRY.build("MODEL.SISEG.CBR.NAME", name, cfg, input_shape, input_channels)


def build_center_head(cfg, input_shape, input_channels: int):
    """The centre head named by ``MODEL.SISEG.CENTER.NAME``; None when the name is "" (the
    centres are then the modes of the votes)."""
    name = cfg.MODEL.SISEG.CENTER.NAME
    if not name:
        return None
    return CENTER_HEAD_REGISTRY.build("MODEL.SISEG.CENTER.NAME", name, cfg, input_shape, input_channels)
