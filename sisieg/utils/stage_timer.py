"""Per-stage wall times of SISeg's inference (segmenter, networks, each post-processing step).

Off by default (a disabled timer costs nothing and never synchronises). When enabled, each
stage synchronises CUDA before reading the clock, so GPU times are real.
"""
import time
from collections import OrderedDict
from contextlib import contextmanager

import torch

STAGES = ("segmenter", "backbone+heads", "grouping", "random walk", "output")


class StageTimer:
    def __init__(self):
        self.enabled = False
        self.seconds = OrderedDict((stage, 0.0) for stage in STAGES)

    def reset(self):
        for stage in self.seconds:
            self.seconds[stage] = 0.0

    @contextmanager
    def __call__(self, stage: str):
        if not self.enabled:
            yield
            return
        synchronize()
        start = time.perf_counter()
        try:
            yield
        finally:
            synchronize()
            self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - start


def synchronize():
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()
