"""The ceiling switch: ``--eval-only MODEL.SISEG.ORACLE_HEADS True`` on any dataset with
instances gives the ground-truth instances back exactly; without instances it is a clear error."""
import json
import os
import subprocess
import sys

import numpy as np
import pycocotools.mask as mask_util
from PIL import Image

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(REPO, "configs", "coco_format", "siseg_label_free.yaml")
SIZE = 96


def rle(mask):
    encoded = mask_util.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": encoded["size"], "counts": encoded["counts"].decode("ascii")}


def touching_scene():
    """Two touching boxes of one class, a ring, two touching triangles of another class."""
    ys, xs = np.mgrid[:SIZE, :SIZE]
    objects = [
        (1, (ys >= 8) & (ys < 40) & (xs >= 8) & (xs < 30)),
        (1, (ys >= 8) & (ys < 40) & (xs >= 30) & (xs < 52)),  # touches the first
        (1, ((ys - 68) ** 2 + (xs - 24) ** 2 <= 18 ** 2) & ((ys - 68) ** 2 + (xs - 24) ** 2 > 9 ** 2)),
        (2, (ys >= 50) & (xs >= 55) & (xs - 55 <= ys - 50) & (ys < 90)),
        (2, (ys >= 50) & (xs >= 55) & (xs < 94) & (xs - 55 > ys - 50) & (ys < 90)),  # shares the diagonal
    ]
    return objects


def write_dataset(root, with_annotations=True):
    (root / "images").mkdir(parents=True)
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (SIZE, SIZE, 3), dtype=np.uint8)).save(root / "images" / "a.png")
    images = [{"id": 1, "file_name": "a.png", "height": SIZE, "width": SIZE}]
    annotations = []
    for k, (category, mask) in enumerate(touching_scene(), start=1):
        box = mask_util.toBbox(mask_util.encode(np.asfortranarray(mask.astype(np.uint8)))).tolist()
        annotations.append({"id": k, "image_id": 1, "category_id": category, "segmentation": rle(mask),
                            "area": int(mask.sum()), "bbox": box, "iscrowd": 0})
    coco = {"images": images, "categories": [{"id": 1, "name": "box"}, {"id": 2, "name": "triangle"}]}
    if with_annotations:
        coco["annotations"] = annotations
    (root / "val.json").write_text(json.dumps(coco))


def evaluate_ceiling(tmp_path, root, *extra):
    entries = [["sisieg_ceiling_val", str(root / "val.json"), str(root / "images"), ""]]
    command = [sys.executable, os.path.join(REPO, "tools", "train_net.py"), "--config-file", CONFIG, "--eval-only",
               "MODEL.SISEG.ORACLE_HEADS", "True", "DATASETS.SISEG_COCO", repr(entries),
               "DATASETS.TEST", "('sisieg_ceiling_val',)", "MODEL.SISEG.NUM_CLASSES", "2",
               "MODEL.SISEG.NUM_SEMANTIC_CLASSES", "3", "MODEL.SISEG.INFERENCE.MIN_AREA", "1",
               "OUTPUT_DIR", str(tmp_path / "out"), *extra]
    return subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=300)


def test_perfect_heads_give_the_ground_truth_instances_of_a_coco_json(tmp_path):
    write_dataset(tmp_path / "data")
    result = evaluate_ceiling(tmp_path, tmp_path / "data")
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads((tmp_path / "out" / "inference" / "eval_results.json").read_text())
    assert results["segm"]["AP"] == 100.0 and results["segm"]["AP75"] == 100.0
    predictions = json.loads((tmp_path / "out" / "inference" / "sisieg_ceiling_val" / "coco_instances_results.json").read_text())
    truth = [mask for _, mask in touching_scene()]
    predicted = [mask_util.decode(p["segmentation"]).astype(bool) for p in predictions]
    assert len(predicted) == len(truth)
    assert all(any(np.array_equal(t, p) for p in predicted) for t in truth)  # pixel for pixel


def test_the_paper_grouping_at_stride_4_does_not_reach_the_ground_truth(tmp_path):
    write_dataset(tmp_path / "data")
    result = evaluate_ceiling(tmp_path, tmp_path / "data", "MODEL.SISEG.GROUPING", "irnet", "MODEL.SISEG.DFM.NAME", "irnet")
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads((tmp_path / "out" / "inference" / "eval_results.json").read_text())
    assert results["segm"]["AP"] < 100.0


def test_a_test_set_without_instances_is_a_clear_error(tmp_path):
    write_dataset(tmp_path / "data", with_annotations=False)
    # a semantic-only split: images whose records carry no annotations at all
    root = tmp_path / "data"
    coco = json.loads((root / "val.json").read_text())
    semantic = root / "semantic"
    semantic.mkdir()
    Image.fromarray(np.zeros((SIZE, SIZE), np.uint8)).save(semantic / "a.png")
    (root / "val.json").write_text(json.dumps(coco))
    entries = [["sisieg_no_instances", str(root / "val.json"), str(root / "images"), str(semantic)]]
    command = [sys.executable, os.path.join(REPO, "tools", "train_net.py"), "--config-file", CONFIG, "--eval-only",
               "MODEL.SISEG.ORACLE_HEADS", "True", "DATASETS.SISEG_COCO", repr(entries),
               "DATASETS.TEST", "('sisieg_no_instances',)", "MODEL.SISEG.NUM_CLASSES", "2",
               "MODEL.SISEG.NUM_SEMANTIC_CLASSES", "3", "OUTPUT_DIR", str(tmp_path / "out")]
    result = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=300)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "MODEL.SISEG.ORACLE_HEADS needs instance annotations" in result.stderr
    assert "sisieg_no_instances" in result.stderr
