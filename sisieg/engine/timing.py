"""Timing a model's forward passes during evaluation (batch 1: seconds per image)."""
import time
from collections import OrderedDict

from torch import nn

from ..utils import synchronize


class ForwardTimer(nn.Module):
    """Wraps a model; accumulates the wall time of its forward calls (CUDA synchronised)
    and, for a SISeg model, its per-stage times.

    Pass it wherever the model goes (``Trainer.test(cfg, ForwardTimer(model))``); the
    total covers everything the model does: segmenter, networks and post-processing.
    """

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model
        self.times = []  # wall seconds of each forward call
        self.calls = 0  # images seen
        self.train(model.training)  # so that restoring the wrapper's mode keeps the model's
        self.stage_timer = getattr(model, "timer", None)
        if self.stage_timer is not None:
            self.stage_timer.reset()
            self.stage_timer.enabled = True

    def forward(self, batched_inputs):
        synchronize()
        start = time.perf_counter()
        outputs = self.model(batched_inputs)
        synchronize()
        self.times.append(time.perf_counter() - start)
        self.calls += len(batched_inputs)
        return outputs

    @property
    def seconds(self) -> float:
        return sum(self.times)

    @property
    def seconds_per_image(self) -> float:
        return self.seconds / max(self.calls, 1)

    def summary(self) -> "OrderedDict[str, float]":
        """Seconds per image in total and per stage, and frames per second (floats only,
        as Detectron2's metrics storage wants)."""
        calls = max(self.calls, 1)
        speed = OrderedDict(seconds_per_image=self.seconds_per_image)
        speed["fps"] = 1.0 / max(self.seconds_per_image, 1e-12)
        if self.stage_timer is not None:
            for stage, seconds in self.stage_timer.seconds.items():
                speed[f"stage_{stage}"] = seconds / calls
        return speed

