"""sisieg: SISeg, instance segmentation from semantic segmentation masks, for Detectron2.

Importing the package (1) puts a placeholder for Detectron2's compiled ops in place when
Detectron2 was built without them, before any Detectron2 layer is imported, and (2)
imports the modules that register the meta-architecture and the datasets, so processes
started by ``detectron2.engine.launch`` see them.
"""
from .compiled_ops import install_placeholder_if_missing

HAS_COMPILED_OPS = install_placeholder_if_missing()

from .config import add_sisieg_config  # noqa: E402

from . import data, modeling  # noqa: E402,F401  (registers datasets and the meta-architecture)

__all__ = ["HAS_COMPILED_OPS", "add_sisieg_config"]
