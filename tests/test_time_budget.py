"""SOLVER.SISEG.TRAIN_MINUTES: the iteration count that fits, measured once per output folder."""
import json
import os

import numpy as np
import pytest
import torch
from detectron2.data import DatasetCatalog

from sisieg.data.datasets.shapes import register_shapes_split
from sisieg.engine import Trainer, build_config
from sisieg.engine import time_budget
from sisieg.engine.time_budget import (
    MIN_ITERATIONS, REFIT_SHARE, ROUNDING, TimeBudgetRefit, fit_to_time_budget, fitted_iterations,
)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(REPO, "configs", "shapes", "siseg_label_free.yaml")


def config(tmp_path, *opts):
    return build_config(CONFIG, ["OUTPUT_DIR", str(tmp_path / "out"), *opts])


def measured(seconds, calls):
    def measure(cfg, trainer_class):
        calls.append(cfg.SOLVER.MAX_ITER)
        return seconds
    return measure


def test_fitted_iterations_round_down_and_stay_between_the_floor_and_the_configured_count():
    assert fitted_iterations(1.0, 10, 1200) == 600  # 600 s at 1 s
    assert ROUNDING == 25 and fitted_iterations(0.7, 10, 1200) == 850  # 857 fit
    assert fitted_iterations(0.1, 10, 1200) == 1200  # never raised
    assert fitted_iterations(60.0, 10, 1200) == MIN_ITERATIONS  # never below the floor


def test_budget_lowers_max_iter_writes_the_record_and_reuses_it(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(time_budget, "measure_iteration_seconds", measured(2.0, calls))
    cfg = config(tmp_path, "SOLVER.SISEG.TRAIN_MINUTES", "10", "SOLVER.MAX_ITER", "1200")
    fitted = fit_to_time_budget(cfg, Trainer)
    assert fitted.SOLVER.MAX_ITER == 300 and cfg.SOLVER.MAX_ITER == 1200 and calls == [1200]
    record = json.loads((tmp_path / "out" / "time_budget.json").read_text())
    assert record["max_iter"] == 300 and record["seconds_per_iteration"] == 2.0
    # a second run in the folder (a resumed one) keeps the schedule without measuring again
    monkeypatch.setattr(time_budget, "measure_iteration_seconds", measured(0.5, calls))
    assert fit_to_time_budget(cfg, Trainer).SOLVER.MAX_ITER == 300 and calls == [1200]
    # other settings: measured again
    other = config(tmp_path, "SOLVER.SISEG.TRAIN_MINUTES", "5", "SOLVER.MAX_ITER", "1200")
    assert fit_to_time_budget(other, Trainer).SOLVER.MAX_ITER == 600 and calls == [1200, 1200]


@pytest.mark.parametrize("opts", [("SOLVER.SISEG.TRAIN_MINUTES", "0"),
                                  ("SOLVER.SISEG.TRAIN_MINUTES", "10", "SOLVER.MAX_ITER", str(MIN_ITERATIONS))])
def test_no_budget_or_a_short_run_trains_exactly_max_iter_without_measuring(tmp_path, monkeypatch, opts):
    calls = []
    monkeypatch.setattr(time_budget, "measure_iteration_seconds", measured(100.0, calls))
    cfg = config(tmp_path, *opts)
    assert fit_to_time_budget(cfg, Trainer) is cfg and calls == []
    assert not (tmp_path / "out" / "time_budget.json").exists()


def test_measuring_times_real_iterations_and_leaves_every_random_generator_as_it_was(tmp_path):
    root = str(tmp_path / "datasets")
    register_shapes_split("sisieg_test_budget_train", root, "tiny_train", 4, (64, 64), 0)
    try:
        cfg = config(tmp_path, "DATASETS.TRAIN", "('sisieg_test_budget_train',)", "DATASETS.TEST", "()",
                     "SOLVER.IMS_PER_BATCH", "2", "DATALOADER.NUM_WORKERS", "0", "INPUT.SISEG.CROP_SIZE", "64")
        torch.manual_seed(3)
        np.random.seed(3)
        before = torch.get_rng_state(), np.random.get_state()[1].copy()
        seconds = time_budget.measure_iteration_seconds(cfg, Trainer)
        assert 0 < seconds < 60
        assert torch.equal(torch.get_rng_state(), before[0])
        assert np.array_equal(np.random.get_state()[1], before[1])
    finally:
        DatasetCatalog.remove("sisieg_test_budget_train")


def test_the_training_refits_its_end_from_its_own_pace_and_a_rerun_replays_it(tmp_path, monkeypatch):
    """Timed at 1 s a step before training (3 minutes: 175 iterations), the training runs at 2 s
    (a fake clock): after a quarter of the schedule it ends at 100 instead (the floor, 90 fit),
    the learning rate annealed to that end, model_final saved there; a second training in the
    folder replays the re-fit without timing anything."""
    root = str(tmp_path / "datasets")
    register_shapes_split("sisieg_test_refit_train", root, "tiny_train", 4, (64, 64), 0)
    calls = []
    monkeypatch.setattr(time_budget, "measure_iteration_seconds", measured(1.0, calls))
    try:
        cfg = config(tmp_path, "DATASETS.TRAIN", "('sisieg_test_refit_train',)", "DATASETS.TEST", "()",
                     "SOLVER.IMS_PER_BATCH", "2", "DATALOADER.NUM_WORKERS", "0", "INPUT.SISEG.CROP_SIZE", "64",
                     "SOLVER.SISEG.TRAIN_MINUTES", "3", "SOLVER.MAX_ITER", "400", "SOLVER.CHECKPOINT_PERIOD", "1000")
        for seconds_per_step in (2.0, 0.5):  # the second training would re-fit to 350 if it timed
            monkeypatch.setattr(TimeBudgetRefit, "now", lambda self, s=seconds_per_step: s * self.trainer.iter)
            trainer = Trainer(cfg)
            trainer.resume_or_load(resume=False)
            trainer.train()
            assert trainer.iter == trainer.max_iter == 100
            final_lr = trainer.storage.history("lr").latest()
            assert final_lr == pytest.approx(cfg.SOLVER.BASE_LR * (1 - 99 / 100) ** cfg.SOLVER.SISEG.POLY_POWER)
            assert (tmp_path / "out" / "model_final.pth").exists()
            record = json.loads((tmp_path / "out" / "time_budget.json").read_text())
            assert record["max_iter"] == 175 and calls == [400]
            assert record["refit"]["at"] == int(REFIT_SHARE * 175) and record["refit"]["max_iter"] == 100
            assert record["refit"]["seconds_per_iteration"] == 2.0
            (tmp_path / "out" / "model_final.pth").unlink()
    finally:
        DatasetCatalog.remove("sisieg_test_refit_train")
