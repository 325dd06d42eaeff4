"""tools/compare.py: every embedded row trained (tiny), evaluated alike, tabled and charted."""
import json
import math
import os
import subprocess
import sys

import numpy as np
import torch
from detectron2.data import DatasetCatalog, MetadataCatalog
from detectron2.structures import Instances
from PIL import Image

from sisieg.data.image_io import read_image
from sisieg.engine import build_config
from sisieg.engine.experiments import draw_predictions
from sisieg.engine.plans import COMPARISON as EMBEDDED_ROWS
from sisieg.engine.runs import load_model
from sisieg.visualization.prediction_panels import draw_instances

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = [
    "DATASETS.TRAIN", '("sisieg_shapes_tiny_train",)', "DATASETS.TEST", '("sisieg_shapes_tiny_val",)',
    "SOLVER.MAX_ITER", "1", "SOLVER.IMS_PER_BATCH", "2", "DATALOADER.NUM_WORKERS", "0",
    "INPUT.MIN_SIZE_TEST", "128", "INPUT.MAX_SIZE_TEST", "128", "TEST.DETECTIONS_PER_IMAGE", "5",
]


def compare(tmp_path, *args):
    """Run the tool as users do, from a folder holding the configs (relative paths resolve)."""
    (tmp_path / "configs").symlink_to(os.path.join(REPO, "configs"))
    env = dict(os.environ, DETECTRON2_DATASETS=str(tmp_path / "datasets"))
    return subprocess.run(
        [sys.executable, os.path.join(REPO, "tools", "compare.py"), *args],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=900,
    )


def test_embedded_comparison_has_every_row_measured_alike(tmp_path):
    result = compare(tmp_path, "--output-dir", "cmp", "--pictures", "2", *TINY)
    assert result.returncode == 0, result.stderr[-3000:]
    table = (tmp_path / "cmp" / "comparison.md").read_text()
    rows = json.loads((tmp_path / "cmp" / "comparison.json").read_text())
    assert list(rows) == [row.name for row in EMBEDDED_ROWS]
    for row in EMBEDDED_ROWS:
        assert f"| {row.name} |" in table
        measured = rows[row.name]
        for task in ("segm", "segm_touching"):
            assert all(math.isfinite(measured["results"][task][m]) for m in ("AP", "AP50", "AP75"))
        assert measured["results"]["speed"]["fps"] > 0
    # ground truth in: the segmenter's mask is the truth, and nothing about it is learned
    gt_rows = [r.name for r in EMBEDDED_ROWS if "ground-truth" in r.name]
    assert all(rows[name]["results"]["sem_seg"]["mIoU"] == 100.0 for name in gt_rows)
    cc_gt = rows["connected components + ground-truth masks"]
    assert (cc_gt["params_frozen"], cc_gt["params_trainable"], cc_gt["gflops"]) == (0, 0, 0.0)
    # a trained segmenter is frozen inside SISeg; Mask R-CNN is all trainable, and has no mIoU
    for name in ("SISeg label-free + trained segmenter", "SISeg instance labels + trained segmenter"):
        predicted = rows[name]
        assert predicted["params_frozen"] > 0 and predicted["params_trainable"] > 0
        assert 0 <= predicted["results"]["sem_seg"]["mIoU"] < 100
    # every predicted-mask row reads the one segmenter: the same mask, the same mIoU
    mious = {rows[r.name]["results"]["sem_seg"]["mIoU"] for r in EMBEDDED_ROWS if "segmenter" in r.name}
    assert len(mious) == 1
    assert rows["perfect heads + trained segmenter"]["params_trainable"] == 0
    for name in ("Mask R-CNN R50-FPN (Detectron2)", "Mask R-CNN R18-FPN (Detectron2)"):
        assert "sem_seg" not in rows[name]["results"] and rows[name]["params_frozen"] == 0
    assert rows["Mask R-CNN R50-FPN (Detectron2)"]["params_trainable"] > rows[
        "Mask R-CNN R18-FPN (Detectron2)"]["params_trainable"]
    assert (tmp_path / "cmp" / "comparison.png").stat().st_size > 10_000
    # pictures: 2 val images, each with its image, ground truth and one panel per row
    width, height = Image.open(tmp_path / "cmp" / "comparison_pictures.png").size
    assert round(width / height) == (2 + len(EMBEDDED_ROWS)) // 2


def test_pictures_draw_the_instances_scoring_above_the_threshold(tmp_path, monkeypatch):
    monkeypatch.setenv("DETECTRON2_DATASETS", str(tmp_path / "datasets"))
    from sisieg.data.datasets.shapes import register_shapes_split

    register_shapes_split("sisieg_test_pictures_val", str(tmp_path / "datasets"), "tiny_val", 2, (96, 96), 1)
    cfg = build_config(os.path.join(REPO, "configs/shapes/cc_oracle.yaml"),
                       ["DATASETS.TEST", "('sisieg_test_pictures_val',)", "MODEL.SISEG.INFERENCE.MIN_AREA", "1"])
    model = load_model(cfg, "")  # connected components: every instance scores 1
    records = DatasetCatalog.get("sisieg_test_pictures_val")
    drawn = draw_predictions(cfg, model, records, threshold=1.0)
    hidden = draw_predictions(cfg, model, records, threshold=1.01)
    nothing = Instances((96, 96), pred_masks=torch.zeros(0, 96, 96, dtype=torch.bool),
                        scores=torch.zeros(0), pred_classes=torch.zeros(0, dtype=torch.long))
    for record, with_instances, without in zip(records, drawn, hidden):
        assert record["annotations"]
        blank = draw_instances(read_image(record["file_name"]), nothing, MetadataCatalog.get(cfg.DATASETS.TEST[0]))
        assert np.array_equal(without, blank)
        assert with_instances.shape == blank.shape and not np.array_equal(with_instances, blank)


def test_a_row_with_a_missing_config_is_named(tmp_path):
    result = compare(tmp_path, "--row", "mine", "configs/nope.yaml", "none")
    assert result.returncode == 2
    assert "row 'mine': config file configs/nope.yaml does not exist" in result.stderr


def test_a_row_with_missing_weights_is_named(tmp_path):
    result = compare(tmp_path, "--row", "mine", "configs/shapes/cc_oracle.yaml", "gone.pth", *TINY)
    assert result.returncode != 0
    assert "row 'mine': weights file gone.pth does not exist" in result.stderr


def test_an_unknown_only_row_is_named_with_the_rows(tmp_path):
    result = compare(tmp_path, "--only", "nope", "--output-dir", "cmp")
    assert result.returncode == 2
    assert "no row ['nope']; the rows: ['SISeg label-free + ground-truth masks'" in result.stderr
