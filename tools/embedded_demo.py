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
import logging
import os
import time

import sisieg  # noqa: F401  isort: skip  (first: puts Detectron2's compiled-ops placeholder in place)
from detectron2.checkpoint import DetectionCheckpointer
from detectron2.data import DatasetCatalog, MetadataCatalog
from detectron2.utils.logger import setup_logger

from sisieg.data.dataset_mapper import SISegDatasetMapper
from sisieg.engine import Trainer, build_config
from sisieg.engine.timing import ForwardTimer
from sisieg.evaluation import results_table
from sisieg.visualization import save_grid
from sisieg.visualization.prediction_panels import TITLES, prediction_rows

DEFAULT_CONFIG = "configs/shapes/siseg_oracle_R18_bs8_2k.yaml"
METHODS = (("SISeg (DFM + CBR)", "displacement"), ("connected components", "connected_components"))


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config-file", default=DEFAULT_CONFIG, help="SISeg config to train")
    parser.add_argument("--retrain", action="store_true", help="train again even if a model exists")
    parser.add_argument("--pictures", type=int, default=6, help="val images in pictures.png")
    parser.add_argument("opts", nargs=argparse.REMAINDER, help="KEY VALUE config overrides")
    return parser.parse_args()


def train(cfg, retrain: bool) -> str:
    """Train unless a final model exists; return its path."""
    weights = os.path.join(cfg.OUTPUT_DIR, "model_final.pth")
    if os.path.exists(weights) and not retrain:
        logging.getLogger("sisieg").info(f"Reusing {weights} (--retrain to train again)")
        return weights
    train_cfg = cfg.clone()
    train_cfg.defrost()
    train_cfg.DATASETS.TEST = ()  # evaluation comes after, for both methods alike
    train_cfg.freeze()
    trainer = Trainer(train_cfg)
    trainer.resume_or_load(resume=not retrain)
    trainer.train()
    return weights


def build_method(cfg, grouping: str, weights: str):
    method_cfg = cfg.clone()
    method_cfg.defrost()
    method_cfg.MODEL.SISEG.GROUPING = grouping
    method_cfg.OUTPUT_DIR = os.path.join(cfg.OUTPUT_DIR, f"eval_{grouping}")
    method_cfg.freeze()
    model = Trainer.build_model(method_cfg)
    DetectionCheckpointer(model).load(weights)
    return method_cfg, model.eval()


def main():
    args = parse_args()
    start = time.perf_counter()
    cfg = build_config(args.config_file, args.opts)
    os.makedirs(cfg.OUTPUT_DIR, exist_ok=True)
    logger = setup_logger(os.path.join(cfg.OUTPUT_DIR, "embedded_demo_log.txt"), name="sisieg")
    setup_logger(os.path.join(cfg.OUTPUT_DIR, "embedded_demo_log.txt"), name="detectron2")
    val = cfg.DATASETS.TEST[0]
    for name in (*cfg.DATASETS.TRAIN, val):
        logger.info(f"{name}: {len(DatasetCatalog.get(name))} images")  # generated on first use
    weights = train(cfg, args.retrain)

    rows, models = [], {}
    for method, grouping in METHODS:
        method_cfg, model = build_method(cfg, grouping, weights)
        timer = ForwardTimer(model)
        results = Trainer.test(method_cfg, timer)
        rows.append((method, results, {"s / image (CPU)": f"{timer.seconds_per_image:.3f}"}))
        models[grouping] = model
    table = results_table(rows)
    with open(os.path.join(cfg.OUTPUT_DIR, "results.md"), "w") as f:
        f.write(f"Val split `{val}`, ground-truth semantic masks in, config `{args.config_file}`.\n\n")
        f.write(table)
    with open(os.path.join(cfg.OUTPUT_DIR, "results.json"), "w") as f:
        json.dump({method: results for method, results, _ in rows}, f, indent=2)

    records = DatasetCatalog.get(val)[: args.pictures]
    mapper = SISegDatasetMapper(cfg, is_train=False)
    picture_rows = prediction_rows(
        records, mapper, models["displacement"], models["connected_components"],
        MetadataCatalog.get(val), cfg.INPUT.FORMAT,
    )
    save_grid(picture_rows, TITLES, os.path.join(cfg.OUTPUT_DIR, "pictures.png"))
    print("\n" + table)
    print(f"Written to {cfg.OUTPUT_DIR}: results.md, results.json, pictures.png "
          f"(total {time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
