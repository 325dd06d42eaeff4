"""A tiny train + --eval-only through tools/train_net.py, the way users run it."""
import json
import math
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(REPO, "configs", "shapes", "siseg_label_free.yaml")
TINY = ["DATASETS.TRAIN", '("sisieg_shapes_tiny_train",)', "DATASETS.TEST", '("sisieg_shapes_tiny_val",)']


def train_net(tmp_path, *args, config=CONFIG):
    env = dict(os.environ, DETECTRON2_DATASETS=str(tmp_path / "datasets"))
    result = subprocess.run(
        [sys.executable, os.path.join(REPO, "tools", "train_net.py"), "--config-file", config, *args],
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


def test_demo_draws_instances_on_images(tmp_path):
    out = tmp_path / "out"
    train_net(tmp_path, *TINY, "SOLVER.MAX_ITER", "1", "SOLVER.IMS_PER_BATCH", "2",
              "TEST.EVAL_PERIOD", "0", "OUTPUT_DIR", str(out), "DATASETS.TEST", "()")
    split = tmp_path / "datasets" / "sisieg_shapes" / "tiny_train"
    drawn = tmp_path / "drawn"
    env = dict(os.environ, DETECTRON2_DATASETS=str(tmp_path / "datasets"))
    result = subprocess.run(
        [sys.executable, os.path.join(REPO, "tools", "demo.py"), "--config-file", CONFIG,
         "--input", str(split / "images"), "--semantic-dir", str(split / "semantic"),
         "--output", str(drawn), "MODEL.WEIGHTS", str(out / "model_final.pth")],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    inputs = sorted(p.name for p in (split / "images").iterdir())
    assert sorted(p.name for p in drawn.iterdir()) == inputs
    from PIL import Image

    with Image.open(drawn / inputs[0]) as picture:
        assert picture.mode == "RGB" and min(picture.size) >= 128


def test_demo_names_a_missing_semantic_mask(tmp_path):
    image = tmp_path / "photo.png"
    from PIL import Image

    Image.new("RGB", (32, 32)).save(image)
    masks = tmp_path / "masks"
    masks.mkdir()
    result = subprocess.run(
        [sys.executable, os.path.join(REPO, "tools", "demo.py"), "--config-file", CONFIG,
         "--input", str(image), "--semantic-dir", str(masks), "--output", str(tmp_path / "o")],
        capture_output=True, text=True, cwd=tmp_path, timeout=600,
    )
    assert result.returncode != 0
    assert f"{image}: its semantic mask {masks / 'photo.png'} does not exist" in result.stderr


def test_the_segmenter_config_trains_and_evaluates_end_to_end_and_siseg_reads_its_masks(tmp_path):
    """configs/shapes/semseg_light.yaml (the predicted-mask rows' segmenter) on the tiny split:
    train, score with SemSegEvaluator, then SISeg groups its masks (cc_semseg_light.yaml)."""
    semseg = os.path.join(REPO, "configs", "shapes", "semseg_light.yaml")
    out = tmp_path / "semseg"
    small = [*TINY, "SOLVER.IMS_PER_BATCH", "2", "DATALOADER.NUM_WORKERS", "0", "OUTPUT_DIR", str(out)]
    train_net(tmp_path, *small, "SOLVER.MAX_ITER", "3", config=semseg)
    train_net(tmp_path, "--eval-only", *small, "MODEL.WEIGHTS", str(out / "model_final.pth"), config=semseg)
    scores = json.loads((out / "inference" / "eval_results.json").read_text())["sem_seg"]
    assert 0.0 <= scores["mIoU"] <= 100.0 and math.isfinite(scores["IoU-background"])
    grouped = tmp_path / "cc"
    train_net(tmp_path, "--eval-only", *TINY, "OUTPUT_DIR", str(grouped), "MODEL.WEIGHTS", "",
              "MODEL.SISEG.SEGMENTER.D2_WEIGHTS", str(out / "model_final.pth"), "MODEL.SISEG.SEGMENTER.D2_CONFIG", semseg,
              config=os.path.join(REPO, "configs", "shapes", "cc_semseg_light.yaml"))
    results = json.loads((grouped / "inference" / "eval_results.json").read_text())
    assert math.isfinite(results["segm"]["AP"])


def test_self_training_round_writes_proxy_labels_and_trains_on_them(tmp_path):
    out = tmp_path / "round1"
    train_net(tmp_path, *TINY, "SOLVER.MAX_ITER", "1", "SOLVER.IMS_PER_BATCH", "2",
              "TEST.EVAL_PERIOD", "0", "OUTPUT_DIR", str(out), "DATASETS.TEST", "()")
    proxies = tmp_path / "proxies"
    env = dict(os.environ, DETECTRON2_DATASETS=str(tmp_path / "datasets"))
    result = subprocess.run(
        [sys.executable, os.path.join(REPO, "tools", "proxy_labels.py"), "--config-file", CONFIG,
         "--output", str(proxies), "--min-score", "0", "--whole", "--check", *TINY,
         "MODEL.WEIGHTS", str(out / "model_final.pth")],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    images = sorted(p.stem for p in (tmp_path / "datasets" / "sisieg_shapes" / "tiny_train" / "images").iterdir())
    assert sorted(p.stem for p in proxies.glob("*.png")) == images
    summary = json.loads((proxies / "summary.json").read_text())
    assert summary["images"] == len(images) and summary["split"] <= summary["unknown_components"]
    assert "thing components unknown" in result.stdout
    train_net(tmp_path, *TINY, "SOLVER.MAX_ITER", "2", "SOLVER.IMS_PER_BATCH", "2", "TEST.EVAL_PERIOD", "0",
              "OUTPUT_DIR", str(tmp_path / "round2"), "DATASETS.TEST", "()", "MODEL.WEIGHTS", str(out / "model_final.pth"),
              "INPUT.SISEG.COMPOSITES.PROXY_LABELS", str(proxies))
    assert (tmp_path / "round2" / "model_final.pth").exists()


def test_candidate_filter_report_counts_fall_as_the_threshold_rises(tmp_path):
    env = dict(os.environ, DETECTRON2_DATASETS=str(tmp_path / "datasets"))
    result = subprocess.run(
        [sys.executable, os.path.join(REPO, "tools", "candidate_filter.py"), "--config-file", CONFIG,
         "--min-solidity", "0.5,0.9,0.99", *TINY],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [line.split("|")[1:-1] for line in result.stdout.splitlines() if line.startswith("| 0.")]
    assert [r[0].strip() for r in rows] == ["0.5", "0.9", "0.99"]
    components = {int(r[1]) for r in rows}
    labelled = [int(r[2].split()[0]) for r in rows]
    merged = [int(r[3].split()[0]) for r in rows]
    assert len(components) == 1 and labelled[0] <= components.pop()
    assert labelled == sorted(labelled, reverse=True) and merged == sorted(merged, reverse=True)
    assert all(m <= n for m, n in zip(merged, labelled))
