"""SubsetCOCOEvaluator: full COCO metrics plus metrics on the flagged (touching) subset."""
import json

import numpy as np
import pycocotools.mask as mask_util
import pytest
import torch
from detectron2.data import DatasetCatalog, MetadataCatalog
from detectron2.structures import Boxes, Instances

from sisieg.evaluation import SubsetCOCOEvaluator


def rle(mask):
    encoded = mask_util.encode(np.asfortranarray(mask.astype(np.uint8)))
    encoded["counts"] = encoded["counts"].decode()
    return encoded


@pytest.fixture
def dataset(tmp_path):
    """One 40x40 image: a touching object (category 1) and an isolated one (category 2)."""
    masks = np.zeros((2, 40, 40), dtype=bool)
    masks[0, 5:15, 5:15] = True
    masks[1, 25:35, 25:35] = True
    annotations = [
        {"id": k + 1, "image_id": 1, "category_id": k + 1, "segmentation": rle(m), "iscrowd": 0,
         "area": int(m.sum()), "bbox": list(mask_util.toBbox(rle(m))), "touching": k == 0}
        for k, m in enumerate(masks)
    ]
    coco = {"images": [{"id": 1, "file_name": "a.png", "height": 40, "width": 40}],
            "categories": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}],
            "annotations": annotations}
    json_file = tmp_path / "gt.json"
    json_file.write_text(json.dumps(coco))
    name = f"sisieg_test_subset_{tmp_path.name}"
    DatasetCatalog.register(name, lambda: [])
    MetadataCatalog.get(name).set(json_file=str(json_file), thing_classes=["a", "b"],
                                  thing_dataset_id_to_contiguous_id={1: 0, 2: 1},
                                  touching_flag="touching")
    yield name, masks
    DatasetCatalog.remove(name)
    MetadataCatalog.remove(name)


def evaluate(name, masks, classes, tmp_path):
    evaluator = SubsetCOCOEvaluator(name, tasks=("segm",), distributed=False,
                                    output_dir=str(tmp_path), use_fast_impl=False)
    evaluator.reset()
    instances = Instances((40, 40))
    instances.pred_masks = torch.from_numpy(masks)
    instances.pred_boxes = Boxes(torch.tensor([[5.0, 5, 15, 15], [25, 25, 35, 35]])[: len(masks)])
    instances.scores = torch.ones(len(masks))
    instances.pred_classes = torch.tensor(classes)
    evaluator.process([{"image_id": 1}], [{"instances": instances}])
    return evaluator.evaluate()


def test_only_the_touching_object_counts_in_the_subset(dataset, tmp_path):
    name, masks = dataset
    results = evaluate(name, masks[1:], [1], tmp_path)  # finds only the isolated object
    assert results["segm"]["AP"] == pytest.approx(50.0, abs=0.5)  # one of two categories found
    assert results["segm_touching"]["AP"] == pytest.approx(0.0)  # the touching one is missed
    results = evaluate(name, masks[:1], [0], tmp_path)  # finds only the touching object
    assert results["segm_touching"]["AP"] == pytest.approx(100.0)


def test_detections_on_unflagged_objects_are_not_false_positives(dataset, tmp_path):
    name, masks = dataset
    results = evaluate(name, masks, [0, 1], tmp_path)  # finds both
    assert results["segm"]["AP"] == pytest.approx(100.0)
    assert results["segm_touching"]["AP"] == pytest.approx(100.0)


def test_no_predictions_at_all_score_zero_with_a_warning(dataset, tmp_path, caplog):
    name, masks = dataset
    results = evaluate(name, masks[:0], [], tmp_path)  # the model found nothing anywhere
    for task in ("segm", "segm_touching"):
        assert all(value == 0.0 for value in results[task].values()), results[task]  # not NaN
    assert "No segm predictions at all on 2 ground-truth objects" in caplog.text
