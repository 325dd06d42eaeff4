"""Evaluation: COCO metrics, overall and on the touching-instances subset, and their tables."""
from .results_table import results_table
from .subset_coco_evaluation import SubsetCOCOEvaluator, subset_coco_api

__all__ = ["SubsetCOCOEvaluator", "results_table", "subset_coco_api"]
