#!/usr/bin/env python
"""Run a named experiment plan (sisieg/engine/plans.py) and write its table.

    python tools/sweep.py --plan supervision   # semantic / mixed 10% / mixed 50% / instance
    python tools/sweep.py --plan inference     # inference-side ablations, no retraining
    python tools/sweep.py --plan recipe        # the learning recipe's ablations
    python tools/sweep.py --plan robustness    # the perfect heads under noise, old vs new grouping
    python tools/sweep.py --plan nuclei --config-file configs/coco_format/siseg_instance.yaml \\
        DATASETS.SISEG_COCO "$(python -m sisieg.data.prepare.stardist_nuclei --print-entries)"
                                               # real nuclei: floor, ceiling, instance and label-free recipes

Trainings are reused when their model_final.pth exists (``--retrain`` to redo them). The
table goes to ``<OUTPUT_DIR>/sweep_<plan>.md`` (and ``.json``; ``.png`` for a plan that sweeps
a quantity), the evaluations to ``<OUTPUT_DIR>/sweep_<plan>/<row>``.
"""
import argparse
import os
import time

import sisieg  # noqa: F401  isort: skip  (first: puts Detectron2's compiled-ops placeholder in place)

from sisieg.engine import build_config, log_to
from sisieg.engine.experiments import run_rows, select_rows, write_report
from sisieg.engine.plans import CEILING, CHART_AXES, FLOOR, PLANS
from sisieg.utils.cli import run

DEFAULT_CONFIG = "configs/shapes/siseg_label_free.yaml"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--plan", required=True, choices=sorted(PLANS))
    parser.add_argument("--config-file", default=DEFAULT_CONFIG)
    parser.add_argument("--retrain", action="store_true", help="train again even if a model exists")
    parser.add_argument("--only", action="append", metavar="NAME", help="run only this variant (repeatable)")
    parser.add_argument("opts", nargs=argparse.REMAINDER, help="KEY VALUE config overrides")
    args = parser.parse_args()
    start = time.perf_counter()
    cfg = build_config(args.config_file, args.opts)
    os.makedirs(cfg.OUTPUT_DIR, exist_ok=True)
    log_to(os.path.join(cfg.OUTPUT_DIR, f"sweep_{args.plan}_log.txt"))
    rows = select_rows(PLANS[args.plan], args.only)
    base = os.path.join(cfg.OUTPUT_DIR, f"sweep_{args.plan}")
    outcomes = run_rows(rows, base, args.config_file, args.opts, args.retrain)
    header = (f"Plan `{args.plan}`, config `{args.config_file}`, val `{cfg.DATASETS.TEST[0]}`, "
              f"ground-truth semantic masks in.\n\n")
    table = write_report(outcomes, base, header, FLOOR.name, CEILING.name, chart_xlabel=CHART_AXES.get(args.plan, ""))
    print("\n" + table + f"\nWritten to {base}.md ({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    run(main)
