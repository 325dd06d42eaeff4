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
row's config. Written to --output-dir: comparison.md, comparison.json, comparison.png (bar
chart) and comparison_pictures.png (each row's predictions on the first --pictures val images).
"""
import argparse
import json
import math
import os
import textwrap
import time

import sisieg  # noqa: F401  isort: skip  (first: puts Detectron2's compiled-ops placeholder in place)

from detectron2.data import DatasetCatalog, MetadataCatalog

from sisieg.data.image_io import read_image
from sisieg.engine import build_config, log_to
from sisieg.engine.comparison import CEILING_ROW, EMBEDDED_ROWS, FLOOR_ROW, Row, compare
from sisieg.evaluation import results_table
from sisieg.visualization import save_bar_chart, save_grid
from sisieg.visualization.prediction_panels import draw_annotations
from sisieg.utils.cli import run

AP_METRICS = (("AP", "segm", "AP"), ("AP50", "segm", "AP50"), ("AP75", "segm", "AP75"))


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--row", nargs=3, action="append", metavar=("NAME", "CONFIG", "WEIGHTS"),
                        help="a row to compare (repeatable); default: the embedded rows")
    parser.add_argument("--only", action="append", metavar="NAME", help="run only this row (repeatable)")
    parser.add_argument("--output-dir", default="output/shapes/compare", help="where the table and chart go")
    parser.add_argument("--pictures", type=int, default=4, help="val images in comparison_pictures.png (0: none)")
    parser.add_argument("--picture-threshold", type=float, default=0.5,
                        help="instances scoring at least this are drawn (Detectron2's demo default)")
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


def save_pictures(outcomes, val: str, path: str):
    """One row per val image: the image, its ground truth, then each method's predictions."""
    metadata = MetadataCatalog.get(val)
    records = DatasetCatalog.get(val)[: len(outcomes[0].pictures)]
    grid = []
    for i, record in enumerate(records):
        image = read_image(record["file_name"])
        grid.append([image, draw_annotations(image, record, metadata), *(o.pictures[i] for o in outcomes)])
    titles = ["image", "ground truth", *(textwrap.fill(o.name, 24) for o in outcomes)]
    save_grid(grid, titles, path)


def main():
    args, rows = parse_args()
    start = time.perf_counter()
    os.makedirs(args.output_dir, exist_ok=True)
    log_to(os.path.join(args.output_dir, "compare_log.txt"))
    outcomes = compare(rows, args.output_dir, args.opts, args.pictures, args.picture_threshold)
    table = results_table([(o.name, o.results, extra_columns(o)) for o in outcomes], FLOOR_ROW, CEILING_ROW)
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
    written = ".md, .json, .png"
    if args.pictures > 0:
        save_pictures(outcomes, build_config(rows[0].config, args.opts).DATASETS.TEST[0], base + "_pictures.png")
        written += ", _pictures.png"
    print("\n" + table + f"\nWritten to {base}{written} ({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    run(main)
