"""``Checkpointer``: Detectron2's, with files that are never half-written and strict loads.

A checkpoint (and the ``last_checkpoint`` tag) is written to a temporary file and renamed
into place, so a run killed while saving leaves the previous checkpoint as the last one;
leftover temporary files are removed when a run resumes. With ``strict`` a weights file
that does not fit the model (missing / unexpected keys, wrong shapes) is an error naming
the file and the keys instead of a log line.
"""
import os

import torch
from detectron2.checkpoint import DetectionCheckpointer

from ..data.atomic_io import remove_leftovers, replace_from_temporary, write_text_atomically
from ..modeling.segmenters.weights import check_incompatible_keys

PARTIAL_HINT = "Set MODEL.SISEG.PARTIAL_WEIGHTS True to load only the parts that match."


class Checkpointer(DetectionCheckpointer):
    def __init__(self, model, save_dir: str = "", *, strict: bool = False, **checkpointables):
        super().__init__(model, save_dir, **checkpointables)
        self.strict = strict
        self._loading = ""

    def save(self, name: str, **kwargs):
        if not self.save_dir or not self.save_to_disk:
            return
        data = {"model": self.model.state_dict()}
        data.update({key: obj.state_dict() for key, obj in self.checkpointables.items()})
        data.update(kwargs)
        path = os.path.join(self.save_dir, f"{name}.pth")
        self.logger.info(f"Saving checkpoint to {path}")
        replace_from_temporary(path, lambda tmp: torch.save(data, tmp))
        self.tag_last_checkpoint(os.path.basename(path))

    def tag_last_checkpoint(self, last_filename_basename: str):
        write_text_atomically(os.path.join(self.save_dir, "last_checkpoint"), last_filename_basename)

    def remove_leftovers(self) -> int:
        """Delete temporary files of saves that a killed run never finished."""
        return remove_leftovers(self.save_dir) if self.save_dir else 0

    def load(self, path: str, checkpointables=None):
        if path and "://" not in path and not os.path.isfile(path):
            raise FileNotFoundError(f"weights file {path} does not exist (MODEL.WEIGHTS or --resume)")
        self._loading = path
        return super().load(path, checkpointables)

    def _load_model(self, checkpoint):
        incompatible = super()._load_model(checkpoint)
        if self.strict and incompatible is not None:
            check_incompatible_keys(self._loading, type(self.model).__name__, incompatible, PARTIAL_HINT)
        return incompatible


def load_weights(cfg, model, weights: str):
    """Load ``weights`` for evaluation/inference: strict unless ``MODEL.SISEG.PARTIAL_WEIGHTS``."""
    Checkpointer(model, strict=not cfg.MODEL.SISEG.PARTIAL_WEIGHTS).load(weights)
    return model
