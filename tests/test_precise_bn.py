"""--eval-only with TEST.PRECISE_BN: batch-norm statistics recomputed, nothing else moved."""
import os

import pytest
import torch
from detectron2.modeling import build_model
from fvcore.nn.precise_bn import get_bn_modules

from sisieg.engine import Trainer, build_config

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(REPO, "configs", "shapes", "siseg_label_free.yaml")


@pytest.fixture
def config(tmp_path, monkeypatch):
    monkeypatch.setenv("DETECTRON2_DATASETS", str(tmp_path / "datasets"))
    return build_config(CONFIG, [
        "DATASETS.TRAIN", '("sisieg_shapes_tiny_train",)', "DATASETS.TEST", "()", "SOLVER.IMS_PER_BATCH", "2",
        "DATALOADER.NUM_WORKERS", "0", "TEST.PRECISE_BN.NUM_ITER", "3", "OUTPUT_DIR", str(tmp_path / "out")])


def statistics(model):
    return [torch.cat([m.running_mean, m.running_var]) for m in get_bn_modules(model)]


def test_recomputed_statistics_replace_the_saved_ones_and_leave_other_state(config):
    torch.manual_seed(0)
    model = build_model(config).eval()
    reference = build_model(config).eval()
    reference.load_state_dict(model.state_dict())
    for norm in get_bn_modules(model):  # a checkpoint whose statistics lag far behind
        norm.running_mean.fill_(100.0)
        norm.running_var.fill_(1e4)
    model.displacement_bias.fill_(3.0)
    torch.manual_seed(1)
    Trainer.recompute_bn_statistics(config, model)
    torch.manual_seed(1)
    Trainer.recompute_bn_statistics(config, reference)
    assert not model.training  # the mode it had
    assert torch.all(model.displacement_bias == 3.0)  # the training forward's EMA did not move it
    for got, want in zip(statistics(model), statistics(reference)):
        assert torch.allclose(got, want)  # the true averages over the batches, whatever was saved
        assert got.abs().max() < 100.0
