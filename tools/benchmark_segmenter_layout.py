#!/usr/bin/env python
"""The segmenter's training step with its full-resolution layers in channels-last vs the plain
memory order, side by side in one run (``FineSemSegFPNHead.memory_format``).

    python tools/benchmark_segmenter_layout.py                # configs/shapes/semseg_light.yaml
    python tools/benchmark_segmenter_layout.py --repeats 9 SOLVER.IMS_PER_BATCH 4

Random images and labels at the config's crop size and batch, random weights, one optimiser step
each time; the two layouts alternate, so a slower phase of the machine hits both. Prints the median
and min-max of each and their ratio.
"""
import argparse
import statistics
import time

import sisieg  # noqa: F401  isort: skip  (first: puts Detectron2's compiled-ops placeholder in place)
import torch
from detectron2.modeling import build_model

from sisieg.engine import build_config
from sisieg.utils.cli import run

LAYOUTS = {"channels-last": torch.channels_last, "plain": torch.contiguous_format}


def step_seconds(model, optimizer, batch) -> float:
    start = time.perf_counter()
    loss = sum(model(batch).values())
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config-file", default="configs/shapes/semseg_light.yaml")
    parser.add_argument("--repeats", type=int, default=5, help="timed steps per layout")
    parser.add_argument("opts", nargs=argparse.REMAINDER, help="KEY VALUE config overrides")
    args = parser.parse_args()
    cfg = build_config(args.config_file, args.opts)
    torch.manual_seed(cfg.SEED)
    model = build_model(cfg).train()
    optimizer = torch.optim.AdamW(model.parameters(), cfg.SOLVER.BASE_LR)
    size, classes = cfg.INPUT.SISEG.CROP_SIZE, cfg.MODEL.SEM_SEG_HEAD.NUM_CLASSES
    batch = [{"image": torch.randint(0, 256, (3, size, size)).float(), "sem_seg": torch.randint(0, classes, (size, size))}
             for _ in range(cfg.SOLVER.IMS_PER_BATCH)]
    seconds = {name: [] for name in LAYOUTS}
    for repeat in range(args.repeats + 1):  # the first round warms up
        for name, layout in LAYOUTS.items():
            model.sem_seg_head.memory_format = layout
            elapsed = step_seconds(model, optimizer, batch)
            if repeat:
                seconds[name].append(elapsed)
    for name, values in seconds.items():
        print(f"{name:14s} median {statistics.median(values):.3f} s a step (min {min(values):.3f}, max {max(values):.3f})")
    ratio = statistics.median(seconds["channels-last"]) / statistics.median(seconds["plain"])
    print(f"channels-last / plain: {ratio:.2f} (batch {cfg.SOLVER.IMS_PER_BATCH}, {size}x{size}, {args.repeats} steps each)")


if __name__ == "__main__":
    run(main)
