"""COCO evaluation, plus the same metrics on a flagged subset of the ground truth.

SISeg's hard case is same-class instances that touch; the synthetic data flags them
(``touching: true`` on the annotation, metadata ``touching_flag``). The subset metrics
(``segm_touching``, ``bbox_touching``) are COCOeval's with every other annotation turned
into a crowd region: detections on those objects are ignored, neither hits nor misses,
so only the flagged objects count. Full metrics are COCOEvaluator's, except that a model
with no detections at all scores AP 0 (with a warning) where COCOEvaluator reports NaN.
"""
import contextlib
import copy
import io
from collections import OrderedDict

from detectron2.data import MetadataCatalog
from detectron2.evaluation import COCOEvaluator
from pycocotools.coco import COCO


def subset_coco_api(coco_api: COCO, flag: str) -> COCO:
    """A copy of ``coco_api`` where annotations without a true ``flag`` are crowd regions."""
    dataset = copy.deepcopy(coco_api.dataset)
    for annotation in dataset["annotations"]:
        if not annotation.get(flag):
            annotation["iscrowd"] = 1
    subset = COCO()
    subset.dataset = dataset
    with contextlib.redirect_stdout(io.StringIO()):
        subset.createIndex()
    return subset


class SubsetCOCOEvaluator(COCOEvaluator):
    """COCOEvaluator that also reports ``<task>_<flag>`` metrics on the flagged subset."""

    def __init__(self, dataset_name, *args, flag: str = None, **kwargs):
        """``flag`` defaults to the dataset metadata's ``touching_flag`` (None: no subset)."""
        super().__init__(dataset_name, *args, **kwargs)
        self._flag = flag or MetadataCatalog.get(dataset_name).get("touching_flag", None)
        self._subset_api = None
        if self._flag and self._do_evaluation:
            flagged = [a for a in self._coco_api.dataset["annotations"] if a.get(self._flag)]
            if flagged:
                self._subset_api = subset_coco_api(self._coco_api, self._flag)

    def _eval_predictions(self, predictions, img_ids=None):
        subset_predictions = copy.deepcopy(predictions)  # the parent remaps category ids in place
        super()._eval_predictions(predictions, img_ids)
        if self._subset_api is None:
            return
        full = (self._coco_api, self._results, self._output_dir)
        self._coco_api, self._results, self._output_dir = self._subset_api, OrderedDict(), None
        self._logger.info(f"Evaluating on the '{self._flag}' subset of the ground truth ...")
        try:
            super()._eval_predictions(subset_predictions, img_ids)
            subset_results = self._results
        finally:
            self._coco_api, self._results, self._output_dir = full
        for task, metrics in subset_results.items():
            self._results[f"{task}_{self._flag}"] = metrics

    def _derive_coco_results(self, coco_eval, iou_type, class_names=None):
        """COCOEvaluator's metrics; with no detections on ground truth that has objects, 0
        for every metric (COCOEvaluator: NaN, which tables would show as missing)."""
        results = super()._derive_coco_results(coco_eval, iou_type, class_names)
        objects = [a for a in self._coco_api.dataset.get("annotations", []) if not a.get("iscrowd", 0)]
        if coco_eval is None and objects:
            self._logger.warning(
                f"No {iou_type} predictions at all on {len(objects)} ground-truth objects: every "
                f"{iou_type} metric is 0"
            )
            results = {metric: 0.0 for metric in results}
            results.update({f"AP-{name}": 0.0 for name in class_names or []})
        return results
