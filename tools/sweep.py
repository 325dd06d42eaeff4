#!/usr/bin/env python
"""Run a named experiment plan (sisieg/engine/sweep.py) and write its table.

    python tools/sweep.py --plan supervision   # semantic / mixed 10% / mixed 50% / instance
    python tools/sweep.py --plan inference     # inference-side ablations, no retraining
    python tools/sweep.py --plan recipe        # the learning recipe's ablations
    python tools/sweep.py --plan robustness    # the perfect heads under noise, old vs new grouping

Trainings are reused when their model_final.pth exists (``--retrain`` to redo them). The
table goes to ``<OUTPUT_DIR>/sweep_<plan>.md`` (and ``.json``).
"""
import argparse
import json
import os
import time

import sisieg  # noqa: F401  isort: skip  (first: puts Detectron2's compiled-ops placeholder in place)

from sisieg.engine import build_config, log_to
from sisieg.engine.sweep import CEILING, CHART_AXES, FLOOR, PLANS, chart_panels, run_plan
from sisieg.evaluation import results_table
from sisieg.visualization import save_line_chart
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
    variants = PLANS[args.plan]
    if args.only:
        unknown = set(args.only) - {v.name for v in variants}
        if unknown:
            parser.error(f"--only {sorted(unknown)}: not in plan {args.plan}: {[v.name for v in variants]}")
        variants = [v for v in variants if v.name in args.only]
    rows = run_plan(cfg, variants, args.retrain)
    table = results_table(rows, FLOOR.name, CEILING.name)
    base = os.path.join(cfg.OUTPUT_DIR, f"sweep_{args.plan}")
    with open(base + ".md", "w") as f:
        f.write(f"Plan `{args.plan}`, config `{args.config_file}`, val `{cfg.DATASETS.TEST[0]}`, "
                f"ground-truth semantic masks in.\n\n{table}")
    with open(base + ".json", "w") as f:
        json.dump({name: results for name, results, _ in rows}, f, indent=2)
    panels = chart_panels(variants, rows)
    if panels:  # the plan sweeps a quantity: AP against it, connected components for reference
        floor = {name: results for name, results, _ in rows}.get(FLOOR.name)
        references = floor and {p: {FLOOR.name: floor[t]["AP"]} for p, t in (("AP", "segm"), ("AP touching", "segm_touching"))}
        save_line_chart(panels, CHART_AXES.get(args.plan, ""), base + ".png", references)
    print("\n" + table + f"\nWritten to {base}.md ({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    run(main)
