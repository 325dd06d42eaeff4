"""Evaluation: COCO metrics, overall and on the touching-instances subset."""
from .subset_coco_evaluation import SubsetCOCOEvaluator, subset_coco_api

__all__ = ["SubsetCOCOEvaluator", "subset_coco_api"]
