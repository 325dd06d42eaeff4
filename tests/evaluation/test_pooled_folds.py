"""Cross-validation's pooled evaluation: the folds' held-out predictions scored as one."""
import json

import numpy as np
import pycocotools.mask as mask_util
import pytest
import torch

import sisieg  # noqa: F401  isort: skip  (before Detectron2)
from sisieg.data.prepare.coco_instances import coco_annotation, encode_mask
from sisieg.evaluation.pooled_folds import evaluate_pooled, pooled_ground_truth


def square(top, left, side=10):
    mask = np.zeros((40, 40), dtype=bool)
    mask[top:top + side, left:left + side] = True
    return mask


def write_fold(folder, image_id, masks, first_id, touching):
    """A fold's val.json: one 40x40 image holding ``masks`` (category 1, COCO id 1)."""
    annotations = [dict(coco_annotation(m, 1, image_id, first_id + k), touching=touching[k]) for k, m in enumerate(masks)]
    coco = {"images": [{"id": image_id, "file_name": f"{image_id}.png", "height": 40, "width": 40}],
            "categories": [{"id": 1, "name": "nucleus"}], "annotations": annotations}
    folder.mkdir(parents=True)
    (folder / "val.json").write_text(json.dumps(coco))
    return str(folder / "val.json")


def write_predictions(path, image_id, masks, scores=None):
    """What train_net's evaluation saves: per image its instances, contiguous category 0."""
    scores = scores or [0.9] * len(masks)
    instances = [{"image_id": image_id, "category_id": 0, "segmentation": encode_mask(m), "score": score,
                  "bbox": list(mask_util.toBbox(encode_mask(m)))} for m, score in zip(masks, scores)]
    torch.save([{"image_id": image_id, "instances": instances}], path)
    return str(path)


@pytest.fixture
def two_folds(tmp_path):
    """Fold a holds out image 1 (a touching pair and a lone square), fold b image 2 (two lone
    squares); ``masks[fold]`` are their ground-truth masks."""
    masks = {"a": [square(5, 5), square(5, 15), square(25, 25)], "b": [square(2, 2), square(25, 25)]}
    vals = [write_fold(tmp_path / "a", 1, masks["a"], 1, [True, True, False]),
            write_fold(tmp_path / "b", 2, masks["b"], 4, [False, False])]
    return tmp_path, vals, masks


def test_perfect_predictions_of_every_fold_score_100(two_folds):
    tmp_path, vals, masks = two_folds
    files = [write_predictions(tmp_path / "a.pth", 1, masks["a"]), write_predictions(tmp_path / "b.pth", 2, masks["b"])]
    results = evaluate_pooled(vals, files, str(tmp_path), str(tmp_path / "out"), name="sisieg_test_pooled_perfect")
    assert results["segm"]["AP"] == pytest.approx(100.0)
    assert results["segm_touching"]["AP"] == pytest.approx(100.0)
    pooled = json.loads((tmp_path / "out" / "sisieg_test_pooled_perfect.json").read_text())
    assert sorted(i["id"] for i in pooled["images"]) == [1, 2] and len(pooled["annotations"]) == 5


def test_a_merge_in_one_fold_counts_against_the_pooled_objects(two_folds):
    tmp_path, vals, masks = two_folds
    strip = np.zeros((40, 40), dtype=bool)
    strip[15:20, 5:15] = True
    merged = [masks["a"][0] | masks["a"][1] | strip, masks["a"][2]]  # the pair as one (IoU 0.4 with each)
    files = [write_predictions(tmp_path / "a.pth", 1, merged, [0.5, 0.9]),
             write_predictions(tmp_path / "b.pth", 2, masks["b"])]
    results = evaluate_pooled(vals, files, str(tmp_path), str(tmp_path / "out"), name="sisieg_test_pooled_merge")
    # 3 of 5 objects found at every IoU threshold before the false positive (the merge, scored
    # lowest): precision 1 up to recall 0.6, i.e. 61 of COCO's 101 recall points
    assert results["segm"]["AP"] == pytest.approx(100.0 * 61 / 101)
    assert results["segm_touching"]["AP"] == pytest.approx(0.0)  # neither touching nucleus is found
    # without fold b, the pooled evaluation is fold a's alone, and lower (1 of 3)
    alone = evaluate_pooled(vals[:1], files[:1], str(tmp_path), str(tmp_path / "out_a"), name="sisieg_test_pooled_merge_a")
    assert alone["segm"]["AP"] < results["segm"]["AP"]


def test_folds_that_share_images_or_predictions_are_refused(two_folds, tmp_path):
    _, vals, masks = two_folds
    with pytest.raises(ValueError, match="share image ids"):
        pooled_ground_truth([vals[0], vals[0]])
    files = [write_predictions(tmp_path / "a.pth", 1, masks["a"]), write_predictions(tmp_path / "a2.pth", 1, masks["a"])]
    with pytest.raises(ValueError, match="both predict image 1"):
        evaluate_pooled(vals, files, str(tmp_path), str(tmp_path / "out"), name="sisieg_test_pooled_twice")
