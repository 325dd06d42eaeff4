"""Faults in training and evaluation: each is a clear message or a recovery, nothing lost."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from PIL import Image

from sisieg.data.dataset_mapper import SISegDatasetMapper
from sisieg.data.datasets.shapes import register_shapes_split
from sisieg.data.skipped_images import FAILED, read_skips
from sisieg.engine import Trainer, build_config
from sisieg.engine.checkpoint import Checkpointer
from sisieg.errors import ConfigError
from sisieg.engine.runs import load_model

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(REPO, "configs", "shapes", "siseg_label_free.yaml")


@pytest.fixture
def split(tmp_path, request):
    """A 4-image training split and a 2-image val split of the shapes data, generated here."""
    root = str(tmp_path / "datasets")
    train, val = f"sisieg_test_rel_train_{request.node.name}", f"sisieg_test_rel_val_{request.node.name}"
    register_shapes_split(train, root, "tiny_train", 4, (64, 64), 0)
    register_shapes_split(val, root, "tiny_val", 2, (64, 64), 1)
    from detectron2.data import DatasetCatalog

    records = DatasetCatalog.get(train) + DatasetCatalog.get(val)  # generate the files
    yield train, val, records
    for name in (train, val):
        DatasetCatalog.remove(name)


def tiny_config(tmp_path, train, val, *opts):
    return build_config(CONFIG, [
        "DATASETS.TRAIN", f"('{train}',)", "DATASETS.TEST", f"('{val}',)", "SOLVER.IMS_PER_BATCH", "2",
        "DATALOADER.NUM_WORKERS", "0", "INPUT.SISEG.CROP_SIZE", "64", "OUTPUT_DIR", str(tmp_path / "out"),
        "SOLVER.MAX_ITER", "4", *opts,
    ])


def truncate(path):
    data = open(path, "rb").read()
    with open(path, "wb") as f:
        f.write(data[: len(data) // 3])


# ---------------------------------------------------------------- unreadable images
def test_an_unreadable_training_image_stops_training_naming_it(tmp_path, split):
    train, val, records = split
    truncate(records[0]["file_name"])
    trainer = Trainer(tiny_config(tmp_path, train, val))
    trainer.resume_or_load(resume=False)
    with pytest.raises(ValueError, match=f"{records[0]['file_name']}: cannot read the image"):
        trainer.train()


def test_skip_unreadable_images_finishes_training_and_lists_them(tmp_path, split):
    train, val, records = split
    truncate(records[0]["file_name"])
    cfg = tiny_config(tmp_path, train, val, "INPUT.SISEG.SKIP_UNREADABLE_IMAGES", "True", "DATASETS.TEST", "()")
    trainer = Trainer(cfg)
    trainer.resume_or_load(resume=False)
    trainer.train()  # 8 samples from 4 images: the bad one comes up, and is replaced
    assert os.path.exists(os.path.join(cfg.OUTPUT_DIR, "model_final.pth"))
    skips = read_skips(os.path.join(cfg.OUTPUT_DIR, "skipped_images.txt"))
    assert [name for name, _ in skips] == [records[0]["file_name"]]
    assert "cannot read the image" in skips[0][1]


def test_evaluation_goes_past_an_unreadable_image_and_evaluates_each_image_once(tmp_path, split):
    train, val, records = split
    bad, good = records[4]["file_name"], records[5]["file_name"]
    truncate(bad)
    cfg = tiny_config(tmp_path, train, val, "MODEL.SISEG.GROUPING", "connected_components")
    seen = [(x["file_name"], FAILED in x) for batch in Trainer.build_test_loader(cfg, val) for x in batch]
    assert seen == [(bad, True), (good, False)]  # the bad one as a blank record: no instances
    model = Trainer.build_model(cfg).eval()
    results = Trainer.test(cfg, model)  # runs to the end; the bad image's objects count as misses
    assert 0 <= results["segm"]["AP"] < 100
    failed = read_skips(os.path.join(cfg.OUTPUT_DIR, "inference", "failed_images.txt"))
    assert [name for name, _ in failed] == [bad] and "cannot read the image" in failed[0][1]


# ---------------------------------------------------------------- numbers going bad
def test_a_nan_loss_stops_training_naming_the_iteration_and_the_last_checkpoint(tmp_path, split):
    train, val, _ = split
    cfg = tiny_config(tmp_path, train, val, "SOLVER.MAX_ITER", "6", "SOLVER.CHECKPOINT_PERIOD", "2",
                      "DATASETS.TEST", "()")
    trainer = Trainer(cfg)
    trainer.resume_or_load(resume=False)
    losses = trainer.model.losses

    def poisoned(batched_inputs):
        out = losses(batched_inputs)
        if trainer.iter == 3:
            out["loss_dfm_offset"] = out["loss_dfm_offset"] * float("nan")
        return out

    trainer.model.losses = poisoned
    with pytest.raises(FloatingPointError) as error:
        trainer.train()
    message = str(error.value)
    assert "Training stopped at iteration 3" in message and "infinite or NaN" in message
    assert f"Last checkpoint: {os.path.join(cfg.OUTPUT_DIR, 'model_0000001.pth')}" in message
    assert not os.path.exists(os.path.join(cfg.OUTPUT_DIR, "model_final.pth"))  # no NaN weights saved


# ---------------------------------------------------------------- checkpoints and resumption
def test_a_save_that_fails_midway_leaves_no_half_checkpoint(tmp_path, monkeypatch):
    model = torch.nn.Linear(3, 2)
    checkpointer = Checkpointer(model, str(tmp_path))
    checkpointer.save("model_0000001")

    def dies_midway(data, path):
        with open(path, "wb") as f:
            f.write(b"half a checkpoint")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", dies_midway)
    with pytest.raises(KeyboardInterrupt):
        checkpointer.save("model_0000002")
    assert sorted(os.listdir(tmp_path)) == ["last_checkpoint", "model_0000001.pth"]
    assert (tmp_path / "last_checkpoint").read_text() == "model_0000001.pth"


def test_a_resumed_loader_continues_the_data_order(tmp_path, split):
    train, val, _ = split
    cfg = tiny_config(tmp_path, train, val, "DATALOADER.NUM_WORKERS", "2")

    def batches(loader, count):
        stream = iter(loader)
        return [[x["file_name"] for x in next(stream)] for _ in range(count)]

    seed = 1234
    uninterrupted = batches(Trainer.build_train_loader(cfg, seed=seed), 7)
    resumed = batches(Trainer.build_train_loader(cfg, skip=3 * 2, seed=seed), 4)  # after 3 iterations
    assert resumed == uninterrupted[3:]


def test_kill_9_then_resume_finishes_with_complete_checkpoints_and_metrics(tmp_path):
    out = tmp_path / "out"
    env = dict(os.environ, DETECTRON2_DATASETS=str(tmp_path / "datasets"))
    command = [sys.executable, os.path.join(REPO, "tools", "train_net.py"), "--config-file", CONFIG,
               "DATASETS.TRAIN", '("sisieg_shapes_tiny_train",)', "DATASETS.TEST", "()",
               "SOLVER.IMS_PER_BATCH", "2", "SOLVER.MAX_ITER", "12", "SOLVER.CHECKPOINT_PERIOD", "3",
               "DATALOADER.NUM_WORKERS", "0", "INPUT.SISEG.CROP_SIZE", "64", "OUTPUT_DIR", str(out)]
    with open(tmp_path / "first.log", "w") as log:
        first = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=tmp_path)
        deadline = time.time() + 300
        while not (out / "model_0000005.pth").exists() and first.poll() is None and time.time() < deadline:
            time.sleep(0.05)
        first.send_signal(signal.SIGKILL)  # no clean-up of any kind
        first.wait()
    assert first.returncode == -signal.SIGKILL, (tmp_path / "first.log").read_text()[-2000:]
    assert not (out / "model_final.pth").exists()
    # what a kill can leave in metrics.json: entries past the last checkpoint, a line cut short
    with open(out / "metrics.json", "a") as f:
        f.write(json.dumps({"iteration": 10, "total_loss": 1.0}) + "\n" + '{"iteration": 11, "total_lo')
    resumed = subprocess.run(command[:2] + ["--resume"] + command[2:], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, env=env, cwd=tmp_path, timeout=600)
    assert resumed.returncode == 0, resumed.stdout[-3000:]
    start = int(resumed.stdout.split("Starting training from iteration ")[1].split()[0])
    assert start >= 6  # continued after a checkpoint, not from scratch
    assert f"Resumed at iteration {start}: data order continues after {start * 2} samples" in resumed.stdout
    for checkpoint in out.glob("model_*.pth"):
        torch.load(checkpoint, map_location="cpu", weights_only=False)  # every one complete
    assert not list(out.glob("*.tmp-*"))
    assert torch.load(out / "model_final.pth", weights_only=False)["iteration"] == 11
    lines = (out / "metrics.json").read_text().splitlines()
    iterations = [json.loads(line)["iteration"] for line in lines]  # every line parses
    assert iterations == sorted(set(iterations)) and iterations[-1] == 11  # no repeats, complete


# ---------------------------------------------------------------- configs and weights
def test_config_mistakes_are_config_errors_naming_the_key(tmp_path):
    with pytest.raises(ConfigError, match="Non-existent key: MODEL.SISEG.NO_SUCH_KEY"):
        build_config(CONFIG, ["MODEL.SISEG.NO_SUCH_KEY", "1"])  # on the command line
    config = tmp_path / "typo.yaml"
    config.write_text(f'_BASE_: "{CONFIG}"\nMODEL:\n  SISEG:\n    GROUPNG: "votes"\n')
    with pytest.raises(ConfigError, match="typo.yaml: Non-existent config key: MODEL.SISEG.GROUPNG"):
        build_config(str(config))  # in a file
    with pytest.raises(ConfigError, match="for config key: SOLVER.MAX_ITER"):
        build_config(CONFIG, ["SOLVER.MAX_ITER", "'many'"])
    with pytest.raises(ConfigError, match="config file nowhere.yaml does not exist"):
        build_config("nowhere.yaml")


def test_weights_that_do_not_fit_are_an_error_unless_a_partial_load_is_asked(tmp_path):
    cfg = build_config(CONFIG, ["MODEL.SISEG.INPUT_MODE", "image+mask"])  # 6 input channels, not 3
    other = Trainer.build_model(build_config(CONFIG))
    state = other.state_dict()
    state["surplus.weight"] = torch.zeros(1)
    path = str(tmp_path / "other.pth")
    torch.save({"model": state}, path)
    with pytest.raises(ValueError, match=(
            rf"weights {path} do not match SISeg: unexpected keys \(1\): surplus.weight; "
            r"wrong shapes \(2\): backbone.stem.conv1.weight, displacement_head.embed_input.0.0.weight"
            r".*MODEL.SISEG.PARTIAL_WEIGHTS True")):
        load_model(cfg, path)
    partial = build_config(CONFIG, ["MODEL.SISEG.INPUT_MODE", "image+mask", "MODEL.SISEG.PARTIAL_WEIGHTS", "True"])
    model = load_model(partial, path)  # what fits is loaded: the heads come from the file
    for key, value in other.boundary_head.state_dict().items():
        assert torch.equal(model.boundary_head.state_dict()[key], value), key
    with pytest.raises(FileNotFoundError, match="weights file .*gone.pth does not exist"):
        load_model(cfg, str(tmp_path / "gone.pth"))


# ---------------------------------------------------------------- a very large image
def test_a_4000x3000_image_is_resized_for_the_network_and_answered_at_full_size(tmp_path):
    cfg = build_config(CONFIG, ["INPUT.MIN_SIZE_TEST", "300", "INPUT.MAX_SIZE_TEST", "400",
                                "MODEL.SISEG.GROUPING", "connected_components"])
    image, mask = tmp_path / "big.jpg", tmp_path / "big.png"
    Image.fromarray(np.full((3000, 4000, 3), 90, dtype=np.uint8)).save(image)
    labels = np.zeros((3000, 4000), dtype=np.uint8)
    labels[1000:2000, 500:1500] = 1
    labels[200:600, 3000:3900] = 3
    Image.fromarray(labels).save(mask)
    record = SISegDatasetMapper(cfg, is_train=False)(
        {"file_name": str(image), "sem_seg_file_name": str(mask), "height": 3000, "width": 4000, "image_id": 0})
    assert tuple(record["image"].shape[-2:]) == (300, 400)
    with torch.no_grad():
        instances = Trainer.build_model(cfg).eval()([record])[0]["instances"]
    assert instances.image_size == (3000, 4000) and sorted(instances.pred_classes.tolist()) == [0, 2]
    assert abs(int(instances.pred_masks.sum()) - 1000 * 1000 - 400 * 900) < 0.02 * (1000 * 1000 + 400 * 900)
