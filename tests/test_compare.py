"""tools/compare.py: every embedded row trained (tiny), evaluated alike, tabled and charted."""
import json
import math
import os
import subprocess
import sys

from sisieg.engine.comparison import EMBEDDED_ROWS

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
    result = compare(tmp_path, "--output-dir", "cmp", *TINY)
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
    predicted = rows["SISeg + trained segmenter"]
    assert predicted["params_frozen"] > 0 and predicted["params_trainable"] > 0
    assert 0 <= predicted["results"]["sem_seg"]["mIoU"] < 100
    for name in ("Mask R-CNN R50-FPN (Detectron2)", "Mask R-CNN R18-FPN (Detectron2)"):
        assert "sem_seg" not in rows[name]["results"] and rows[name]["params_frozen"] == 0
    assert rows["Mask R-CNN R50-FPN (Detectron2)"]["params_trainable"] > rows[
        "Mask R-CNN R18-FPN (Detectron2)"]["params_trainable"]
    assert (tmp_path / "cmp" / "comparison.png").stat().st_size > 10_000


def test_a_row_with_a_missing_config_is_named(tmp_path):
    result = compare(tmp_path, "--row", "mine", "configs/nope.yaml", "none")
    assert result.returncode == 2
    assert "row 'mine': config file configs/nope.yaml does not exist" in result.stderr


def test_a_row_with_missing_weights_is_named(tmp_path):
    result = compare(tmp_path, "--row", "mine", "configs/shapes/cc_oracle.yaml", "gone.pth", *TINY)
    assert result.returncode != 0
    assert "comparison row 'mine': weights file gone.pth does not exist" in result.stderr
