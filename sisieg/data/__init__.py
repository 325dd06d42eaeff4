"""Data of sisieg: importing it registers the datasets in Detectron2's catalogs."""
from . import datasets  # noqa: F401
from .dataset_root import dataset_root

__all__ = ["dataset_root"]
