#!/usr/bin/env python
"""SISeg against its baselines and Detectron2's Mask R-CNN: one val split, one evaluator,
one table and one bar chart.

    python tools/compare.py                 # the embedded rows (below), trained if needed
    python tools/compare.py --row "SISeg VOC" configs/voc/siseg_oracle_R50_bs14_20ep.yaml model.pth \\
                            --row "Mask R-CNN" my_mask_rcnn.yaml mask_rcnn.pth

A row is NAME CONFIG WEIGHTS; WEIGHTS is a .pth file, "train" (train CONFIG, reused once its
model_final.pth exists), another .yaml (train that config and use its weights) or "none"
(nothing learned: connected components). Without --row, the embedded rows: SISeg and
connected components on ground-truth and on predicted masks, Detectron2's Mask R-CNN R50-FPN
and R18-FPN, all on sisieg_shapes_val (hours on 2 CPU cores when nothing is trained yet: a
Mask R-CNN R18-FPN iteration takes 17-22 s there, 300 of them; SISeg's about 1.8 s). Trailing KEY VALUE overrides apply to every
row's config. Written to --output-dir: comparison.md, comparison.json, comparison.png.
"""
import argparse
import json
import math
import os
import time

import sisieg  # noqa: F401  isort: skip  (first: puts Detectron2's compiled-ops placeholder in place)

from sisieg.engine import log_to
from sisieg.engine.comparison import EMBEDDED_ROWS, Row, compare
from sisieg.evaluation import results_table
from sisieg.visualization import save_bar_chart

AP_METRICS = (("AP", "segm", "AP"), ("AP50", "segm", "AP50"), ("AP75", "segm", "AP75"))


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--row", nargs=3, action="append", metavar=("NAME", "CONFIG", "WEIGHTS"),
                        help="a row to compare (repeatable); default: the embedded rows")
    parser.add_argument("--only", action="append", metavar="NAME", help="run only this row (repeatable)")
    parser.add_argument("--output-dir", default="output/shapes/compare", help="where the table and chart go")
    parser.add_argument("opts", nargs=argparse.REMAINDER, help="KEY VALUE overrides for every row")
    args = parser.parse_args()
    rows = [Row(name, config, "" if weights == "none" else weights) for name, config, weights in args.row or []]
    rows = rows or list(EMBEDDED_ROWS)
    if args.only:
        unknown = set(args.only) - {row.name for row in rows}
        if unknown:
            parser.error(f"--only {sorted(unknown)}: no such row; rows: {[row.name for row in rows]}")
        rows = [row for row in rows if row.name in args.only]
    for row in rows:
        if not os.path.isfile(row.config):
            parser.error(f"row {row.name!r}: config file {row.config} does not exist")
    return args, rows


def extra_columns(outcome) -> dict:
    miou = outcome.miou
    return {
        "segmenter mIoU": "—" if miou is None else f"{miou:.1f}",
        "FPS (batch 1)": f"{outcome.fps:.2f}",
        "params frozen / trainable (M)": f"{outcome.params_frozen / 1e6:.2f} / {outcome.params_trainable / 1e6:.2f}",
        "GFLOPs": f"{outcome.gflops:.1f}",
    }


def chart_panels(outcomes) -> dict:
    """AP overall, AP on touching instances, FPS: one value per row (NaN where absent)."""
    def value(outcome, task, metric):
        return outcome.results.get(task, {}).get(metric, math.nan)

    return {
        "mask AP, all instances": {n: [value(o, t, m) for o in outcomes] for n, t, m in AP_METRICS},
        "mask AP, touching instances": {n: [value(o, t + "_touching", m) for o in outcomes]
                                        for n, t, m in AP_METRICS},
        "speed (batch 1)": {"FPS": [o.fps for o in outcomes]},
    }


def main():
    args, rows = parse_args()
    start = time.perf_counter()
    os.makedirs(args.output_dir, exist_ok=True)
    log_to(os.path.join(args.output_dir, "compare_log.txt"))
    outcomes = compare(rows, args.output_dir, args.opts)
    table = results_table([(o.name, o.results, extra_columns(o)) for o in outcomes])
    base = os.path.join(args.output_dir, "comparison")
    with open(base + ".md", "w") as f:
        f.write(table)
        f.write("\nRows (config, weights):\n\n" + "".join(
            f"- {o.name}: `{o.config}`, `{o.weights or 'nothing learned'}`\n" for o in outcomes))
    with open(base + ".json", "w") as f:
        json.dump({o.name: {"config": o.config, "weights": o.weights, "results": o.results,
                            "params_frozen": o.params_frozen, "params_trainable": o.params_trainable,
                            "gflops": o.gflops} for o in outcomes}, f, indent=2)
    save_bar_chart([o.name for o in outcomes], chart_panels(outcomes), base + ".png")
    print("\n" + table + f"\nWritten to {base}.md, .json, .png ({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
