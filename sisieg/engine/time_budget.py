"""Training for a number of minutes instead of a number of iterations (``SOLVER.SISEG.TRAIN_MINUTES``).

The recipes promise about 10 minutes of training on a 2-core CPU, but an iteration's cost
depends on the machine far more than on the config: the main job's step takes 0.50 s on a CPU
with native bfloat16 and 0.93 s in float32 on an AVX2-only one, so a fixed ``SOLVER.MAX_ITER``
of 1200 trains 10 minutes on one and 19 on the other. With ``TRAIN_MINUTES > 0`` the trainer
first times a few iterations of the config's own model, optimiser and training loader (on
copies: the training that follows is exactly the one ``SOLVER.MAX_ITER N`` would give), then
lowers ``SOLVER.MAX_ITER`` to what fits, rounded down to a multiple of ``ROUNDING``, never
below ``MIN_ITERATIONS``; it never raises it. The choice is logged and written to
``OUTPUT_DIR/time_budget.json``; a later run in that folder with the same settings (a resumed
run, a retraining) reuses it instead of measuring again, so a resumed run keeps its schedule.

The steps timed before training miss the training's own pace on a busy or throttled machine (by
-8% to +24% on the AVX2 VM of the project page), so ``TimeBudgetRefit`` checks it once more, on the
training's own iterations: after ``REFIT_SHARE`` of the schedule it fits the iteration count again
from their mean step time and moves the end of the schedule there (the learning rate then anneals
to the new end; it may move up to the configured ``SOLVER.MAX_ITER``). The re-fit is written into
the same record, and a later run in the folder replays it at the same iteration instead of timing
again, so that a resumed run or a retraining keeps one schedule.
"""
import json
import logging
import os
import random
import statistics
import time

import numpy as np
import torch
from detectron2.engine import HookBase
from detectron2.engine.hooks import PeriodicCheckpointer, PeriodicWriter
from detectron2.utils import comm
from detectron2.utils.events import CommonMetricPrinter

from ..data.atomic_io import write_json_atomically

logger = logging.getLogger(__name__)

WARMUP_STEPS = 4  # untimed: worker start-up and the loader filling its queue ahead, oneDNN first calls
TIMED_STEPS = 16  # timed iterations (data loading included); their mean is the estimate (6 and a median
# missed the trainer's own rate by -17% to +50% on an AVX2 CPU: steps there vary 0.32-0.49 s)
ROUNDING = 25  # iteration counts are multiples of this, so nearby estimates give one schedule
MIN_ITERATIONS = 100  # never cut below; runs of at most this many iterations are not measured
RECORD = "time_budget.json"
REFIT_SHARE = 0.25  # the training's pace is checked once, after this share of its fitted schedule
REFIT_SKIP = 5  # ... from the step after this many (worker start-up, first calls)


def fitted_iterations(seconds_per_iteration: float, minutes: float, max_iter: int) -> int:
    """The iterations that fit in ``minutes`` at ``seconds_per_iteration``: rounded down to a
    multiple of ROUNDING, at least MIN_ITERATIONS, at most ``max_iter``."""
    fitting = int(minutes * 60 / max(seconds_per_iteration, 1e-9)) // ROUNDING * ROUNDING
    return min(max_iter, max(fitting, MIN_ITERATIONS))


def has_time_budget(cfg) -> bool:
    """Whether ``cfg`` (as given) trains for minutes: a budget is set and the run is not short."""
    return cfg.SOLVER.SISEG.TRAIN_MINUTES > 0 and cfg.SOLVER.MAX_ITER > MIN_ITERATIONS


def fit_to_time_budget(cfg, trainer_class):
    """``cfg`` with ``SOLVER.MAX_ITER`` lowered to what ``SOLVER.SISEG.TRAIN_MINUTES`` allows on
    this machine (``cfg`` itself when the budget is off or the run is short)."""
    minutes = cfg.SOLVER.SISEG.TRAIN_MINUTES
    if not has_time_budget(cfg):
        return cfg
    settings = budget_settings(cfg)
    path = os.path.join(cfg.OUTPUT_DIR, RECORD)
    record = read_record(path, settings)
    if record is None:
        seconds = measure_iteration_seconds(cfg, trainer_class)
        record = {**settings, "seconds_per_iteration": seconds,
                  "max_iter": fitted_iterations(seconds, minutes, cfg.SOLVER.MAX_ITER)}
        if comm.get_world_size() > 1:  # every process must run the same schedule
            record["max_iter"] = min(comm.all_gather(record["max_iter"]))
        if comm.is_main_process():
            os.makedirs(cfg.OUTPUT_DIR, exist_ok=True)
            write_json_atomically(path, record)
        source = (f"{record['seconds_per_iteration']:.2f} s an iteration here (mean of {TIMED_STEPS}, "
                  f"data loading included)")
    else:
        source = f"as measured before in {path} ({record['seconds_per_iteration']:.2f} s an iteration; delete it to measure again)"
    max_iter = record["max_iter"]
    fits = "all of them fit" if max_iter == cfg.SOLVER.MAX_ITER else f"SOLVER.MAX_ITER lowered to {max_iter}"
    logger.info(f"SOLVER.SISEG.TRAIN_MINUTES {minutes:g}: {source}; {cfg.SOLVER.MAX_ITER} iterations "
                f"configured, {fits} (about {max_iter * record['seconds_per_iteration'] / 60:.1f} minutes)")
    if max_iter == cfg.SOLVER.MAX_ITER:
        return cfg
    cfg = cfg.clone()
    cfg.defrost()
    cfg.SOLVER.MAX_ITER = max_iter
    cfg.freeze()
    return cfg


def budget_settings(cfg) -> dict:
    """What a measured iteration count depends on besides the machine."""
    return {"train_minutes": cfg.SOLVER.SISEG.TRAIN_MINUTES, "config_max_iter": cfg.SOLVER.MAX_ITER,
            "ims_per_batch": cfg.SOLVER.IMS_PER_BATCH}


def trained_iterations_note(cfg) -> str:
    """One line for reports: how many iterations the training in ``cfg.OUTPUT_DIR`` ran, and why."""
    record = read_record(os.path.join(cfg.OUTPUT_DIR, RECORD), budget_settings(cfg))
    if cfg.SOLVER.SISEG.TRAIN_MINUTES <= 0 or record is None:
        return f"{cfg.SOLVER.MAX_ITER} training iterations (`SOLVER.MAX_ITER`)"
    budget = f"`SOLVER.SISEG.TRAIN_MINUTES {cfg.SOLVER.SISEG.TRAIN_MINUTES:g}`"
    before = f"{record['seconds_per_iteration']:.2f} s an iteration"
    refit = record.get("refit")
    if refit is None:
        return (f"{record['max_iter']} training iterations of the {cfg.SOLVER.MAX_ITER} configured: "
                f"{budget} at {before} on this machine")
    return (f"{refit['max_iter']} training iterations of the {cfg.SOLVER.MAX_ITER} configured: {budget}, "
            f"fitted to {record['max_iter']} at {before} before training and again before iteration "
            f"{refit['at']} from the training's own {refit['seconds_per_iteration']:.2f} s")


def read_record(path: str, settings: dict):
    """The record at ``path`` if it was made with ``settings``, else None."""
    if not os.path.isfile(path):
        return None
    try:
        with open(path) as f:
            record = json.load(f)
    except (OSError, ValueError):
        return None
    return record if all(record.get(k) == v for k, v in settings.items()) else None


def measure_iteration_seconds(cfg, trainer_class) -> float:
    """Mean seconds of a training iteration (next batch, forward, backward, optimiser step)
    of fresh copies of the config's model, optimiser and loader. Every random generator is
    restored afterwards, so the training that follows starts exactly as without this."""
    states = torch.get_rng_state(), np.random.get_state(), random.getstate()
    try:
        model = trainer_class.build_model(cfg).train()
        optimizer = trainer_class.build_optimizer(cfg, model)
        loader = iter(trainer_class.build_train_loader(cfg))
        seconds = []
        for _ in range(WARMUP_STEPS + TIMED_STEPS):
            start = time.perf_counter()
            losses = model(next(loader))
            optimizer.zero_grad()
            sum(losses.values()).backward()
            optimizer.step()
            seconds.append(time.perf_counter() - start)
        del loader  # stops its workers
    finally:
        torch.set_rng_state(states[0])
        np.random.set_state(states[1])
        random.setstate(states[2])
    return statistics.mean(seconds[WARMUP_STEPS:])


class TimeBudgetRefit(HookBase):
    """Fits ``SOLVER.MAX_ITER`` again from the training's own mean step time after ``REFIT_SHARE``
    of the schedule (iterations ``REFIT_SKIP`` to then, hooks included), or replays the re-fit a
    previous run in the folder recorded; see the module docstring. It comes first among the
    hooks, so that the checkpointer, the evaluation and the weight average see the new end."""

    def __init__(self, record_path: str, record: dict):
        self.path = record_path
        self.record = record
        refit = record.get("refit")  # replayed where it was made, whatever REFIT_SHARE is now
        self.at = refit["at"] if refit else max(REFIT_SKIP + 10, int(REFIT_SHARE * record["max_iter"]))
        self.started = None  # clock at the start of iteration REFIT_SKIP

    @staticmethod
    def now() -> float:
        return time.perf_counter()

    def before_train(self):
        refit = self.record.get("refit")
        if refit is not None and self.trainer.start_iter > refit["at"]:  # resumed past the re-fit
            self.apply(refit["max_iter"])

    def before_step(self):
        if self.trainer.iter == REFIT_SKIP:
            self.started = self.now()
        if self.trainer.iter != self.at or self.at >= self.trainer.max_iter:
            return
        refit = self.record.get("refit")
        if refit is None and self.started is not None:  # a resumed run may have missed the start
            pace = (self.now() - self.started) / (self.at - REFIT_SKIP)  # iterations SKIP .. at - 1
            max_iter = fitted_iterations(pace, self.record["train_minutes"], self.record["config_max_iter"])
            if comm.get_world_size() > 1:  # every process must run the same schedule
                max_iter = min(comm.all_gather(max_iter))
            refit = {"at": self.at, "seconds_per_iteration": pace, "max_iter": max(max_iter, self.at + 1)}
            self.record = {**self.record, "refit": refit}
            if comm.is_main_process():
                write_json_atomically(self.path, self.record)
        if refit is not None:
            logger.info(f"Time budget re-fit before iteration {self.at}: {refit['seconds_per_iteration']:.2f} s an "
                        f"iteration in training; SOLVER.MAX_ITER {self.trainer.max_iter} -> {refit['max_iter']}")
            self.apply(refit["max_iter"])

    def apply(self, max_iter: int):
        """The schedule's end moved to ``max_iter``: in the trainer's loop, its learning-rate
        multiplier, its checkpointer and its ETA printer (which keep a copy of it)."""
        trainer = self.trainer
        trainer.max_iter = max_iter
        scheduler = getattr(trainer, "scheduler", None)
        if hasattr(scheduler, "_max_iter"):  # Detectron2's LRMultiplier: multiplier(iter / _max_iter)
            scheduler._max_iter = max_iter
        for hook in trainer._hooks:
            if isinstance(hook, PeriodicCheckpointer):
                hook.max_iter = max_iter
            if isinstance(hook, PeriodicWriter):
                for writer in hook._writers:
                    if isinstance(writer, CommonMetricPrinter):
                        writer._max_iter = max_iter


def refit_hook(cfg):
    """The re-fit hook of a training of ``cfg`` (the config as given, before
    ``fit_to_time_budget``), or None when it has no time budget."""
    if not has_time_budget(cfg):
        return None
    path = os.path.join(cfg.OUTPUT_DIR, RECORD)
    record = read_record(path, budget_settings(cfg))
    return None if record is None else TimeBudgetRefit(path, record)
