"""Batch tools never stop at the first bad file: each is one line, the good ones are done."""
import json
import os
import subprocess
import sys

import numpy as np
from PIL import Image

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CC_CONFIG = os.path.join(REPO, "configs/shapes/cc_oracle.yaml")


def save(path, array):
    Image.fromarray(array).save(path)


def make_folder(root):
    """Good and bad images with their semantic masks, as a user's folder might hold them."""
    images, masks = root / "images", root / "semantic"
    images.mkdir()
    masks.mkdir()
    rng = np.random.default_rng(0)
    mask = np.zeros((64, 64), np.uint8)
    mask[10:30, 10:30] = 1
    mask[40:60, 20:50] = 2
    for name in ("good_a", "good_b", "truncated", "size", "ids", "huge", "tiny"):
        save(images / f"{name}.png", rng.integers(0, 255, (64, 64, 3), dtype=np.uint8))
        save(masks / f"{name}.png", mask)
    (images / "empty.png").write_bytes(b"")
    save(masks / "empty.png", mask)
    data = (images / "truncated.png").read_bytes()
    (images / "truncated.png").write_bytes(data[: len(data) // 3])
    save(masks / "size.png", np.zeros((32, 48), np.uint8))  # a mask of another size
    save(masks / "ids.png", np.full((64, 64), 9, np.uint8))  # ids above the 5 classes
    save(images / "huge.png", rng.integers(0, 255, (120, 120, 3), dtype=np.uint8))  # over the limit below
    save(masks / "huge.png", np.zeros((120, 120), np.uint8))
    save(images / "tiny.png", np.zeros((1, 1, 3), np.uint8))
    save(masks / "tiny.png", np.zeros((1, 1), np.uint8))
    (images / "notes.txt").write_text("not an image")
    return images, masks


def test_demo_draws_every_good_image_and_names_each_bad_one(tmp_path):
    images, masks = make_folder(tmp_path)
    out = tmp_path / "out"
    command = [sys.executable, os.path.join(REPO, "tools", "demo.py"), "--config-file", CC_CONFIG,
               "--input", str(images), "--semantic-dir", str(masks), "--output", str(out),
               "MODEL.WEIGHTS", "", "MODEL.SISEG.INFERENCE.MAX_INPUT_PIXELS", "10000"]
    result = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=300)
    assert result.returncode == 1, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in out.glob("*.png")) == ["good_a.png", "good_b.png", "tiny.png"]
    failed = dict(line.split("\t") for line in (out / "failed.txt").read_text().splitlines())
    assert sorted(os.path.basename(k) for k in failed) == ["empty.png", "huge.png", "ids.png", "size.png", "truncated.png"]
    assert "cannot read the image" in failed[str(images / "empty.png")]
    assert "cannot read the image" in failed[str(images / "truncated.png")]
    assert "48x32" in failed[str(images / "size.png")]
    assert "semantic ids [9]" in failed[str(images / "ids.png")]
    assert "MAX_INPUT_PIXELS" in failed[str(images / "huge.png")]
    for name in failed:  # one console line each, naming the file
        assert sum(name in line for line in result.stderr.splitlines() if line.startswith("failed:")) == 1
    assert "3 written to" in result.stdout and "5 failed: see" in result.stdout


def test_a_user_error_is_one_line_unless_debugging(tmp_path):
    command = [sys.executable, os.path.join(REPO, "tools", "train_net.py"), "--config-file", CC_CONFIG,
               "MODEL.SISEG.GROUPING", "nope"]
    result = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=300)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "error: MODEL.SISEG.GROUPING must be one of ('votes', 'irnet', 'connected_components'), got 'nope'" in result.stderr
    debug = subprocess.run([*command, "--debug"], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert debug.returncode != 0 and "Traceback" in debug.stderr


def test_evaluation_goes_past_a_bad_image_counts_it_as_a_miss_and_exits_non_zero(tmp_path):
    root = tmp_path / "datasets"
    env = dict(os.environ, DETECTRON2_DATASETS=str(root))
    common = [sys.executable, os.path.join(REPO, "tools", "train_net.py"), "--config-file", CC_CONFIG,
              "--eval-only", "DATASETS.TEST", "('sisieg_shapes_tiny_val',)", "MODEL.WEIGHTS", "",
              "OUTPUT_DIR", str(tmp_path / "out")]
    first = subprocess.run(common, capture_output=True, text=True, cwd=REPO, env=env, timeout=300)
    assert first.returncode == 0, first.stderr[-2000:]
    full = json.loads((tmp_path / "out" / "inference" / "eval_results.json").read_text())["segm"]["AP"]
    bad = sorted((root / "sisieg_shapes" / "tiny_val" / "semantic").glob("*.png"))[0]
    Image.fromarray(np.zeros((5, 5), np.uint8)).save(bad)  # a mask of another size
    second = subprocess.run(common, capture_output=True, text=True, cwd=REPO, env=env, timeout=300)
    assert second.returncode == 1 and "Traceback" not in second.stderr
    assert "could not be used and count as misses" in second.stderr
    report = (tmp_path / "out" / "inference" / "failed_images.txt").read_text()
    assert bad.name in report and "5x5" in report
    missed = json.loads((tmp_path / "out" / "inference" / "eval_results.json").read_text())["segm"]["AP"]
    assert missed < full  # its objects were counted, as misses
