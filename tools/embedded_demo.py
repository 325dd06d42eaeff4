#!/usr/bin/env python
"""The main job on the embedded synthetic data (``make demo``).

Generates the data if needed, trains SISeg (ground-truth semantic masks in, ResNet-18 from
scratch, CPU), evaluates SISeg and the connected-components baseline on the same val split
with COCOEvaluator, and writes into the output folder:
    results.md     the metrics table (AP, AP50, AP75 overall and on touching instances)
    results.json   the same numbers, machine-readable
    pictures.png   a picture grid for a few val images
A finished training (model_final.pth) is reused; ``--retrain`` starts over.
"""
import argparse
import json
import os
import time

import sisieg  # noqa: F401  isort: skip  (first: puts Detectron2's compiled-ops placeholder in place)
from detectron2.data import DatasetCatalog, MetadataCatalog

from sisieg.data.dataset_mapper import SISegDatasetMapper
from sisieg.engine import build_config, log_to
from sisieg.engine.runs import evaluate, load_model, train_if_needed, with_options
from sisieg.evaluation import results_table
from sisieg.visualization import save_grid
from sisieg.visualization.prediction_panels import TITLES, prediction_rows

DEFAULT_CONFIG = "configs/shapes/siseg_oracle_R18_bs8_300it.yaml"
METHODS = (("SISeg (DFM + CBR)", "displacement"), ("connected components", "connected_components"))


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config-file", default=DEFAULT_CONFIG, help="SISeg config to train")
    parser.add_argument("--retrain", action="store_true", help="train again even if a model exists")
    parser.add_argument("--pictures", type=int, default=6, help="val images in pictures.png")
    parser.add_argument("opts", nargs=argparse.REMAINDER, help="KEY VALUE config overrides")
    return parser.parse_args()


def main():
    args = parse_args()
    start = time.perf_counter()
    cfg = build_config(args.config_file, args.opts)
    os.makedirs(cfg.OUTPUT_DIR, exist_ok=True)
    logger = log_to(os.path.join(cfg.OUTPUT_DIR, "embedded_demo_log.txt"))
    val = cfg.DATASETS.TEST[0]
    for name in (*cfg.DATASETS.TRAIN, val):
        logger.info(f"{name}: {len(DatasetCatalog.get(name))} images")  # generated on first use
    weights = train_if_needed(cfg, args.retrain)

    rows, cfgs = [], {}
    for method, grouping in METHODS:
        cfgs[grouping] = with_options(cfg, [
            "MODEL.SISEG.GROUPING", grouping, "OUTPUT_DIR", os.path.join(cfg.OUTPUT_DIR, f"eval_{grouping}"),
        ])
        results, seconds = evaluate(cfgs[grouping], weights)
        rows.append((method, results, {"s / image (CPU)": f"{seconds:.3f}"}))
    table = results_table(rows)
    with open(os.path.join(cfg.OUTPUT_DIR, "results.md"), "w") as f:
        f.write(f"Val split `{val}`, ground-truth semantic masks in, config `{args.config_file}`.\n\n")
        f.write(table)
    with open(os.path.join(cfg.OUTPUT_DIR, "results.json"), "w") as f:
        json.dump({method: results for method, results, _ in rows}, f, indent=2)

    records = DatasetCatalog.get(val)[: args.pictures]
    mapper = SISegDatasetMapper(cfg, is_train=False)
    models = [load_model(cfgs[grouping], weights) for _, grouping in METHODS]
    picture_rows = prediction_rows(records, mapper, *models, MetadataCatalog.get(val), cfg.INPUT.FORMAT)
    save_grid(picture_rows, TITLES, os.path.join(cfg.OUTPUT_DIR, "pictures.png"))
    print("\n" + table)
    print(f"Written to {cfg.OUTPUT_DIR}: results.md, results.json, pictures.png "
          f"(total {time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
