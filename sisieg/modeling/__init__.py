"""SISeg's model: importing this package registers the ``SISeg`` meta-architecture."""
from . import backbones  # noqa: F401  (registers the light backbone)
from .meta_arch import SISeg  # noqa: F401

__all__ = ["SISeg"]
