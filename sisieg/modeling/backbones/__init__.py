"""Backbones of our own, registered in Detectron2's ``BACKBONE_REGISTRY``
(``MODEL.BACKBONE.NAME``); Detectron2's ResNets remain the paper's choice."""
from .light_resnet import LightResNet, build_sisieg_light_backbone  # noqa: F401  (registers)

__all__ = ["LightResNet", "build_sisieg_light_backbone"]
