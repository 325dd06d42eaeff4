"""Resuming a killed training where it stopped: the data order and the metrics file.

Detectron2 resumes the weights, optimizer, schedule and iteration, but restarts the
training sampler from its first index and appends to ``metrics.json`` after whatever the
killed run wrote. Here the sampler skips the samples already consumed (the same images
in the same iterations as an uninterrupted run, given a fixed ``SEED``) and the metrics
file is cut back to the resumed iteration (dropping a line the kill cut short).
"""
import itertools
import json
import os

from torch.utils.data import Sampler

from ..data.atomic_io import write_text_atomically


class SkipSampler(Sampler):
    """The indices of ``sampler`` after its first ``skip`` (per process)."""

    def __init__(self, sampler, skip: int):
        self.sampler, self.skip = sampler, skip

    def __iter__(self):
        return itertools.islice(iter(self.sampler), self.skip, None)


def trim_metrics(path: str, start_iter: int) -> int:
    """Keep the lines of Detectron2's ``metrics.json`` that parse and come from iterations
    before ``start_iter``; return how many were dropped."""
    if not os.path.exists(path):
        return 0
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    kept = []
    for line in lines:
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue  # cut short by the kill
        if entry.get("iteration", -1) < start_iter:
            kept.append(line)
    write_text_atomically(path, "".join(line + "\n" for line in kept))
    return len(lines) - len(kept)
