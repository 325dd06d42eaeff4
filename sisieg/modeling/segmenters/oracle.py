"""The oracle segmenter: ground-truth semantic masks from the dataset (paper: Semantic_gd)."""
from typing import List

from .base import SEGMENTER_REGISTRY, FrozenSegmenter, SemanticPrediction
from ...errors import InputError


@SEGMENTER_REGISTRY.register_as("oracle")
class OracleSegmenter(FrozenSegmenter):
    """Returns each record's ``"sem_seg"`` (loaded by the dataset mapper) unchanged."""

    def __init__(self, cfg=None):
        super().__init__()
        self.freeze()

    def forward(self, batched_inputs: List[dict]) -> List[SemanticPrediction]:
        predictions = []
        for record in batched_inputs:
            if "sem_seg" not in record:
                raise InputError(
                    f"the 'oracle' segmenter needs ground-truth semantic masks, but the record "
                    f"for {record.get('file_name', '<unnamed image>')} has none: register the "
                    f"dataset with a sem_seg_root (semantic PNGs) or choose another "
                    f"MODEL.SISEG.SEGMENTER.NAME"
                )
            predictions.append(SemanticPrediction(labels=record["sem_seg"]))
        return predictions
