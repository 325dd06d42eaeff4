"""SOLVER.SISEG.WEIGHT_AVERAGE_DECAY: a moving average of the weights becomes model_final."""
import os
from types import SimpleNamespace

import pytest
import torch
from detectron2.engine.hooks import PeriodicCheckpointer

from sisieg.engine import Trainer, build_config
from sisieg.engine import time_budget
from sisieg.engine.weight_average import WeightAverage
from sisieg.errors import ConfigError

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(REPO, "configs", "shapes", "siseg_label_free.yaml")


def small_model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))


def test_the_average_follows_the_formula_for_parameters_and_buffers():
    model = small_model()
    average = WeightAverage(model, 0.9)
    start = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        model[0].weight.add_(1.0)
        model[1].running_mean.fill_(2.0)
        model[1].num_batches_tracked.fill_(7)
    average.update()  # first update: decay min(0.9, 2 / 11)
    d = 2.0 / 11.0
    expected = d * start["0.weight"] + (1 - d) * model.state_dict()["0.weight"]
    assert torch.allclose(average.average["0.weight"], expected)
    assert torch.allclose(average.average["1.running_mean"], d * start["1.running_mean"] + (1 - d) * 2.0)
    assert average.average["1.num_batches_tracked"].item() == 7  # integers are copied
    # after many updates the decay is the configured one
    average.updates = 1000
    assert average.current_decay() == pytest.approx(0.9)
    before = average.average["0.bias"].clone()
    average.update()
    assert torch.allclose(average.average["0.bias"], 0.9 * before + 0.1 * model[0].bias.detach())


def test_the_average_replaces_the_weights_only_at_the_last_iteration_and_round_trips():
    model = small_model()
    hook = WeightAverage(model, 0.5)
    hook.trainer = SimpleNamespace(iter=0, max_iter=3)
    with torch.no_grad():
        model[0].weight.add_(1.0)
    hook.after_step()
    trained = model[0].weight.detach().clone()
    assert not torch.allclose(hook.average["0.weight"], trained)
    hook.trainer.iter = 2  # the last one
    hook.after_step()
    assert torch.equal(model[0].weight.detach(), hook.average["0.weight"])
    # the state a checkpoint carries resumes the same average
    other = WeightAverage(small_model(), 0.5)
    other.load_state_dict(hook.state_dict())
    assert other.updates == 2 and torch.equal(other.average["0.weight"], hook.average["0.weight"])


@pytest.mark.parametrize("decay", [-0.1, 1.0, 2.0])
def test_a_decay_outside_zero_one_is_an_error_naming_the_key(decay):
    with pytest.raises(ConfigError, match="SOLVER.SISEG.WEIGHT_AVERAGE_DECAY"):
        WeightAverage(small_model(), decay)


def test_the_trainer_averages_before_it_checkpoints_and_saves_the_average(tmp_path, monkeypatch):
    monkeypatch.setattr(time_budget, "measure_iteration_seconds", lambda cfg, cls: 0.0)
    cfg = build_config(CONFIG, [
        "OUTPUT_DIR", str(tmp_path), "SOLVER.SISEG.WEIGHT_AVERAGE_DECAY", "0.9", "SOLVER.MAX_ITER", "3",
        "SOLVER.SISEG.TRAIN_MINUTES", "0", "SOLVER.IMS_PER_BATCH", "1", "DATALOADER.NUM_WORKERS", "0",
        "DATASETS.TEST", "()", "INPUT.SISEG.CROP_SIZE", "64",
    ])
    trainer = Trainer(cfg)
    kinds = [type(h) for h in trainer._hooks]
    assert kinds.index(WeightAverage) < kinds.index(PeriodicCheckpointer)
    average = trainer._hooks[kinds.index(WeightAverage)]
    assert trainer.checkpointer.checkpointables["weight_average"] is average
    trainer.resume_or_load(resume=False)
    trainer.train()
    saved = torch.load(tmp_path / "model_final.pth", map_location="cpu", weights_only=False)
    assert average.updates == 3 and saved["weight_average"]["updates"] == 3
    weights = trainer.model.state_dict()
    for name, value in saved["model"].items():
        assert torch.equal(value, average.average[name]), name
        assert torch.equal(weights[name], average.average[name]), name
