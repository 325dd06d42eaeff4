"""Timing a model's forward passes during evaluation (batch 1: seconds per image)."""
import time

import torch
from torch import nn


class ForwardTimer(nn.Module):
    """Wraps a model; accumulates the wall time of its forward calls (CUDA synchronised).

    Pass it wherever the model goes (``Trainer.test(cfg, ForwardTimer(model))``); the
    time covers everything the model does: segmenter, networks and post-processing.
    """

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model
        self.seconds = 0.0
        self.calls = 0
        self.train(model.training)  # so that restoring the wrapper's mode keeps the model's

    def forward(self, batched_inputs):
        synchronize()
        start = time.perf_counter()
        outputs = self.model(batched_inputs)
        synchronize()
        self.seconds += time.perf_counter() - start
        self.calls += len(batched_inputs)
        return outputs

    @property
    def seconds_per_image(self) -> float:
        return self.seconds / max(self.calls, 1)


def synchronize():
    if torch.cuda.is_available():
        torch.cuda.synchronize()
