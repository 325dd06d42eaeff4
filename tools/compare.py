#!/usr/bin/env python
"""SISeg against its baselines and Detectron2's Mask R-CNN: one val split, one evaluator,
one table and one bar chart.

    python tools/compare.py                 # the embedded rows (below), trained if needed
    python tools/compare.py --row "SISeg VOC" configs/voc/siseg_oracle_R50_bs14_20ep.yaml model.pth \\
                            --row "Mask R-CNN" my_mask_rcnn.yaml mask_rcnn.pth

A row is NAME CONFIG WEIGHTS; WEIGHTS is a .pth file, "train" (train CONFIG, reused once its
model_final.pth exists), another .yaml (train that config and use its weights) or "none"
(nothing learned: connected components). Without --row, the embedded rows of
sisieg/engine/plans.py: SISeg, connected components and the perfect heads on ground-truth and
on predicted masks (the segmenter of configs/shapes/semseg_light.yaml), Detectron2's Mask R-CNN
R50-FPN and R18-FPN, all on sisieg_shapes_val (hours on 2 CPU cores when nothing is trained
yet: a Mask R-CNN iteration takes 17-23 s there, 300 of them). Trailing KEY VALUE overrides
apply to every row's config. Written to --output-dir: comparison.md, comparison.json, comparison.png (bar
chart) and comparison_pictures.png (each row's predictions on the first --pictures val images).
"""
import argparse
import os
import time

import sisieg  # noqa: F401  isort: skip  (first: puts Detectron2's compiled-ops placeholder in place)

from sisieg.engine import log_to
from sisieg.engine.experiments import Measures, Row, run_rows, select_rows, write_report
from sisieg.engine.plans import COMPARISON, COMPARISON_CEILING, COMPARISON_FLOOR
from sisieg.utils.cli import run


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
    for row in rows:
        if not os.path.isfile(row.config):
            parser.error(f"row {row.name!r}: config file {row.config} does not exist")
    return args, rows or list(COMPARISON)


def main():
    args, rows = parse_args()
    rows = select_rows(rows, args.only)
    start = time.perf_counter()
    os.makedirs(args.output_dir, exist_ok=True)
    log_to(os.path.join(args.output_dir, "compare_log.txt"))
    measures = Measures(costs=True, pictures=args.pictures, picture_threshold=args.picture_threshold)
    outcomes = run_rows(rows, args.output_dir, opts=args.opts, measures=measures)
    base = os.path.join(args.output_dir, "comparison")
    table = write_report(outcomes, base, floor=COMPARISON_FLOOR, ceiling=COMPARISON_CEILING, costs=True)
    written = ".md, .json, .png" + (", _pictures.png" if args.pictures > 0 else "")
    print("\n" + table + f"\nWritten to {base}{written} ({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    run(main)
