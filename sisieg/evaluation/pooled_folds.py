"""Cross-validation: the held-out predictions of every fold scored as one evaluation.

With k folds that each hold out different images, every image is predicted once by a model
that never trained on it. Pooling those predictions over the union of the held-out sets gives
one COCO AP over all the objects, instead of k small ones whose mean hides how few objects
each has (a held-out quarter of the StarDist nuclei holds 2 to 20 touching ones). The metrics
are those of the training's own evaluation (``SubsetCOCOEvaluator``: COCO's, and the same on
annotations flagged ``touching``), computed once on the pooled ground truth.
"""
import json
import os
from collections import OrderedDict
from typing import List, Sequence

import torch
from detectron2.data import DatasetCatalog, MetadataCatalog

from .. import HAS_COMPILED_OPS
from ..data.atomic_io import write_json_atomically
from ..data.datasets.coco_format import register_coco_format
from .subset_coco_evaluation import SubsetCOCOEvaluator


def pooled_ground_truth(val_jsons: Sequence[str]) -> dict:
    """The union of the COCO files ``val_jsons``; ValueError if they share an image or
    annotation id (the folds must hold out different images of one dataset)."""
    pooled = {"images": [], "annotations": [], "categories": None}
    for path in val_jsons:
        with open(path) as f:
            coco = json.load(f)
        if pooled["categories"] not in (None, coco["categories"]):
            raise ValueError(f"{path}: its categories differ from the other folds'")
        pooled["categories"] = coco["categories"]
        pooled["images"] += coco["images"]
        pooled["annotations"] += coco["annotations"]
    for key in ("images", "annotations"):
        ids = [x["id"] for x in pooled[key]]
        if len(ids) != len(set(ids)):
            raise ValueError(f"{', '.join(val_jsons)}: the folds share {key[:-1]} ids; they must hold out different images")
    return pooled


def evaluate_pooled(val_jsons: Sequence[str], prediction_files: Sequence[str], image_root: str,
                    output_dir: str, name: str = "pooled_folds") -> OrderedDict:
    """COCO metrics (``segm``, ``segm_touching``, ...) of the folds' predictions together.

    ``prediction_files``: each fold's ``instances_predictions.pth`` (what the evaluation of
    ``tools/train_net.py`` saves: per image, its id and its instances as COCO json with
    contiguous category ids). The pooled ground truth is written to ``output_dir`` and
    registered as dataset ``name``."""
    ground_truth = write_json_atomically(os.path.join(output_dir, f"{name}.json"), pooled_ground_truth(val_jsons))
    if name in DatasetCatalog.list():  # a second pooling in one process
        DatasetCatalog.remove(name)
        MetadataCatalog.remove(name)
    register_coco_format(name, str(ground_truth), image_root, "")
    DatasetCatalog.get(name)  # loading sets the metadata's category mapping that the evaluator reads
    predictions = _predictions(prediction_files)
    evaluator = SubsetCOCOEvaluator(name, tasks=("segm", "bbox"), distributed=False, output_dir=output_dir,
                                    use_fast_impl=HAS_COMPILED_OPS)  # as the training's own evaluation
    evaluator.reset()
    evaluator._predictions = predictions  # what process() would have gathered, image by image
    return evaluator.evaluate()


def _predictions(prediction_files: Sequence[str]) -> List[dict]:
    """The per-image predictions of all files; ValueError if two files predict one image."""
    predictions, seen = [], {}
    for path in prediction_files:
        for prediction in torch.load(path, map_location="cpu", weights_only=False):
            if prediction["image_id"] in seen:
                raise ValueError(f"{path} and {seen[prediction['image_id']]} both predict image {prediction['image_id']}")
            seen[prediction["image_id"]] = path
            predictions.append(prediction)
    return predictions
