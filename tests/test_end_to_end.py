"""A tiny train + --eval-only through tools/train_net.py, the way users run it."""
import json
import math
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(REPO, "configs", "shapes", "siseg_oracle_R18_bs8_300it.yaml")
TINY = ["DATASETS.TRAIN", '("sisieg_shapes_tiny_train",)', "DATASETS.TEST", '("sisieg_shapes_tiny_val",)']


def train_net(tmp_path, *args):
    env = dict(os.environ, DETECTRON2_DATASETS=str(tmp_path / "datasets"))
    result = subprocess.run(
        [sys.executable, os.path.join(REPO, "tools", "train_net.py"), "--config-file", CONFIG, *args],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def test_train_then_eval_only_gives_finite_coco_metrics(tmp_path):
    out = tmp_path / "out"
    train_net(tmp_path, *TINY, "SOLVER.MAX_ITER", "4", "SOLVER.IMS_PER_BATCH", "2",
              "TEST.EVAL_PERIOD", "0", "OUTPUT_DIR", str(out))
    for name in ("model_final.pth", "last_checkpoint", "config.yaml", "log.txt", "metrics.json"):
        assert (out / name).exists(), name
    train_net(tmp_path, "--eval-only", *TINY, "MODEL.WEIGHTS", str(out / "model_final.pth"),
              "OUTPUT_DIR", str(out))
    results = json.loads((out / "inference" / "eval_results.json").read_text())
    for task in ("segm", "bbox", "segm_touching"):
        for metric in ("AP", "AP50", "AP75"):
            assert math.isfinite(results[task][metric]), (task, metric)
    assert (out / "inference" / "sisieg_shapes_tiny_val" / "coco_instances_results.json").exists()
