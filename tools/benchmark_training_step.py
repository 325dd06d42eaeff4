#!/usr/bin/env python
"""Two variants of one training step, side by side in one run:

- ``--compare layout``: the segmenter's full-resolution layers in channels-last vs the plain
  memory order (``FineSemSegFPNHead.memory_format``; configs/shapes/semseg_light.yaml);
- ``--compare precision``: SISeg's networks under bfloat16 autocast vs float32
  (``MODEL.SISEG.TRAIN_PRECISION``; configs/shapes/siseg_label_free.yaml);
- ``--compare input-layout``: SISeg's network input (so its convolutions) in channels-last vs the
  plain memory order (``InputEncoder.memory_format``; configs/shapes/siseg_label_free.yaml);
- ``--compare distance``: the mask's distance-transform channel in the input vs none
  (``MODEL.SISEG.MASK_DISTANCE_CAP``; configs/shapes/siseg_label_free.yaml): two models, one
  seed, the same batch;
- ``--compare center``: the model with the centre heatmap head vs without
  (``MODEL.SISEG.CENTER.NAME``; configs/shapes/siseg_instance.yaml): two models, the same batch.

    python tools/benchmark_training_step.py --compare layout
    python tools/benchmark_training_step.py --compare input-layout MODEL.SISEG.TRAIN_PRECISION float32
    python tools/benchmark_training_step.py --compare precision --repeats 9 SOLVER.IMS_PER_BATCH 4

One batch of the config's own training loader (its crops, composites and batch size), random
weights, one optimiser step each time; the two variants alternate, so a slower phase of the
machine hits both. Prints the median and min-max of each and their ratio.
"""
import argparse
import statistics
import time

import sisieg  # noqa: F401  isort: skip  (first: puts Detectron2's compiled-ops placeholder in place)
import torch
from detectron2.modeling import build_model

from sisieg.engine import Trainer, build_config
from sisieg.utils.cli import run


def set_layout(layout):
    def apply(model):
        model.sem_seg_head.memory_format = layout
    return apply


def set_input_layout(layout):
    def apply(model):
        model.input_encoder.memory_format = layout
    return apply


def set_precision(name):
    def apply(model):
        model.train_precision = name
    return apply


def unchanged(model):
    pass


# --compare name -> (default config, {variant: (config overrides of its model, how to switch the
# model to it)}); variants with the same overrides share one model; the first variant is the
# numerator of the ratio.
COMPARISONS = {
    "layout": ("configs/shapes/semseg_light.yaml",
               {"channels-last": ((), set_layout(torch.channels_last)),
                "plain": ((), set_layout(torch.contiguous_format))}),
    "input-layout": ("configs/shapes/siseg_label_free.yaml",
                     {"channels-last": ((), set_input_layout(torch.channels_last)),
                      "plain": ((), set_input_layout(torch.contiguous_format))}),
    "precision": ("configs/shapes/siseg_label_free.yaml",
                  {"bfloat16": ((), set_precision("bfloat16")), "float32": ((), set_precision("float32"))}),
    "distance": ("configs/shapes/siseg_label_free.yaml",
                 {"distance": (("MODEL.SISEG.MASK_DISTANCE_CAP", "16.0"), unchanged),
                  "none": (("MODEL.SISEG.MASK_DISTANCE_CAP", "0.0"), unchanged)}),
    "center": ("configs/shapes/siseg_instance.yaml",
               {"center-head": (("MODEL.SISEG.CENTER.NAME", "heatmap"), unchanged),
                "none": (("MODEL.SISEG.CENTER.NAME", ""), unchanged)}),
}


def build_variant_models(cfg_file, opts, variants):
    """({variant: (model, optimizer)}, the config of the first), one model per distinct overrides."""
    built, models, first_cfg = {}, {}, None
    for name, (overrides, _) in variants.items():
        if overrides not in built:
            cfg = build_config(cfg_file, [*opts, *overrides, "DATALOADER.NUM_WORKERS", "0"])
            torch.manual_seed(cfg.SEED)
            model = build_model(cfg).train()
            built[overrides] = (model, torch.optim.AdamW(model.parameters(), cfg.SOLVER.BASE_LR))
            first_cfg = first_cfg or cfg
        models[name] = built[overrides]
    return models, first_cfg


def step_seconds(model, optimizer, batch) -> float:
    start = time.perf_counter()
    loss = sum(model(batch).values())
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--compare", choices=sorted(COMPARISONS), required=True)
    parser.add_argument("--config-file", default="", help="default: the comparison's config")
    parser.add_argument("--repeats", type=int, default=5, help="timed steps per variant")
    parser.add_argument("opts", nargs=argparse.REMAINDER, help="KEY VALUE config overrides")
    args = parser.parse_args()
    default_config, variants = COMPARISONS[args.compare]
    models, cfg = build_variant_models(args.config_file or default_config, args.opts, variants)
    batch = next(iter(Trainer.build_train_loader(cfg)))
    seconds = {name: [] for name in variants}
    for repeat in range(args.repeats + 1):  # the first round warms up
        for name, (_, apply) in variants.items():
            model, optimizer = models[name]
            apply(model)
            elapsed = step_seconds(model, optimizer, batch)
            if repeat:
                seconds[name].append(elapsed)
    for name, values in seconds.items():
        print(f"{name:14s} median {statistics.median(values):.3f} s a step (min {min(values):.3f}, max {max(values):.3f})")
    first, second = variants
    ratio = statistics.median(seconds[first]) / statistics.median(seconds[second])
    print(f"{first} / {second}: {ratio:.2f} (batch {cfg.SOLVER.IMS_PER_BATCH}, {args.repeats} steps each)")


if __name__ == "__main__":
    run(main)
