#!/usr/bin/env python
"""The random walk on a crowded scene: one channel per instance vs packed channels
(sisieg/modeling/postprocessing/walk_packing.py), side by side in one run.

    python tools/benchmark_walk.py --objects 16 --size 512    # 256 objects, gaps of 4: crowded
    python tools/benchmark_walk.py --objects 16 --size 1024   # 256 objects, gaps of 8: apart

Prints the seconds of each (median of --repeats), their ratio and the largest difference.
"""
import argparse
import statistics
import time

import sisieg  # noqa: F401  isort: skip  (first: puts Detectron2's compiled-ops placeholder in place)
import torch

from sisieg.modeling.postprocessing.random_walk import neighbour_affinity, random_walk
from sisieg.modeling.postprocessing.walk_packing import packed_seeds, unpack
from sisieg.utils.cli import run


def crowded(objects: int, size: int):
    """A grid of objects x objects squares of two classes, one instance each, on the stride-4
    grid: squares half the pitch wide, so gaps of half the pitch (a walk step crosses gaps
    below its radius of 5: those objects share a walk region)."""
    h = size // 4
    pitch = h // objects
    things = torch.zeros(h, h, dtype=torch.long)
    instances = torch.zeros(h, h, dtype=torch.long)
    for k in range(objects * objects):
        y, x = divmod(k, objects)
        start_y, start_x = y * pitch + pitch // 4, x * pitch + pitch // 4
        cell = (slice(start_y, start_y + pitch // 2), slice(start_x, start_x + pitch // 2))
        things[cell], instances[cell] = 1 + k % 2, k + 1
    boundary = torch.rand(h, h, generator=torch.Generator().manual_seed(0)) * 0.5
    return things, instances, objects * objects, boundary


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--objects", type=int, default=16, help="objects per side")
    parser.add_argument("--size", type=int, default=256, help="image side (the walk runs at 1/4)")
    parser.add_argument("--steps", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    things, instances, num, boundary = crowded(args.objects, args.size)
    seeds = (instances[None] == torch.arange(1, num + 1).view(-1, 1, 1)).float() * (1 - boundary)
    weights, offsets = neighbour_affinity(boundary, 5, 10.0, things)

    def per_instance():
        return random_walk(seeds, weights, offsets, args.steps)

    def packed():
        packed_, channel, member = packed_seeds(seeds, instances, things, 5)
        return unpack(random_walk(packed_, weights, offsets, args.steps), channel, member)

    times, results = {}, {}
    for name, run in (("one channel per instance", per_instance), ("packed channels", packed)):
        samples = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            results[name] = run()
            samples.append(time.perf_counter() - start)
        times[name] = statistics.median(samples)
        print(f"{name}: {times[name]:.3f} s")
    channels = packed_seeds(seeds, instances, things, 5)[0].shape[0]
    print(f"{num} instances -> {channels} channels; speed-up x{times['one channel per instance'] / times['packed channels']:.1f}; "
          f"max difference {float((results['packed channels'] - results['one channel per instance']).abs().max()):.2e}")


if __name__ == "__main__":
    run(main)
