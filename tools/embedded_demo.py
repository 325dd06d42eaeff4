#!/usr/bin/env python
"""The main job on the embedded synthetic data (``make demo``).

Generates the data if needed, trains SISeg with the config's recipe (ground-truth semantic masks
in, the light backbone from scratch, CPU), and evaluates on the same val split with COCOEvaluator:
connected components of the mask (the floor), the trained SISeg, the same model with its field
averaged over flips and transposes at test time, and the perfect heads (the ceiling of the
post-processing). It writes into the output folder:
    results.md       the table (AP, AP50, AP75 overall and on touching instances, and the share
                     of the floor -> ceiling headroom the training captured)
    results.json     the same numbers, machine-readable
    pictures.png     a picture grid for a few val images
    composites.png   label-free training only: what the network was taught (composites and
                     their instance ids)
A finished training (model_final.pth) is reused; ``--retrain`` starts over.
"""
import argparse
import json
import os
import time

import numpy as np
import sisieg  # noqa: F401  isort: skip  (first: puts Detectron2's compiled-ops placeholder in place)
from detectron2.data import DatasetCatalog, MetadataCatalog

from sisieg.data.dataset_mapper import SISegDatasetMapper
from sisieg.engine import build_config, log_to
from sisieg.engine.setup import REPOSITORY
from sisieg.engine.experiments import Row, run_rows, write_report
from sisieg.engine.plans import CC, CEILING, FLOOR
from sisieg.engine.runs import load_model, with_options
from sisieg.engine.time_budget import trained_iterations_note
from sisieg.utils.cli import run
from sisieg.visualization import save_grid
from sisieg.visualization.composite_panels import TITLES as COMPOSITE_TITLES
from sisieg.visualization.composite_panels import composite_rows
from sisieg.visualization.prediction_panels import TITLES, prediction_rows

DEFAULT_CONFIG = "configs/shapes/siseg_label_free.yaml"
# Test-time field augmentation of the extra row: no training, 6-7x the inference time.
FIELD_AUGMENTATIONS = 8
RESULTS_DIR = str(REPOSITORY / "projects" / "SISeg" / "results")
# Rows that do not fit the main job's budget: their last measured figures and the command.
REFERENCE_NOTE = """
Not rerun by the main job (CPU budget); measured with the commands shown, same val split:

| method | AP | AP touching | command |
|---|---|---|---|
{rows}
"""
REFERENCES = (
    ("SISeg, the paper's loss and post-processing (previous version)", "siseg_paper_R18.yaml"),
    ("SISeg, instance labels (recommended recipe)", "siseg_instance.yaml"),
    ("Mask R-CNN R18-FPN (Detectron2), instance labels", "mask_rcnn_R18_FPN_bs8_300it.yaml"),
)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config-file", default=DEFAULT_CONFIG, help="SISeg config to train")
    parser.add_argument("--retrain", action="store_true", help="train again even if a model exists")
    parser.add_argument("--pictures", type=int, default=6, help="val images in pictures.png")
    parser.add_argument("opts", nargs=argparse.REMAINDER, help="KEY VALUE config overrides")
    return parser.parse_args()


def reference_note() -> str:
    """The table of REFERENCES from their results files, where those exist."""
    lines = []
    for name, config in REFERENCES:
        path = os.path.join(RESULTS_DIR, config.replace(".yaml", ".json"))
        if os.path.exists(path):
            r = json.load(open(path))
            lines.append(f"| {name} | {r['AP']:.1f} | {r['AP touching']:.1f} | `{r['command']}` |")
    return REFERENCE_NOTE.format(rows="\n".join(lines)) if lines else ""


def composites_picture(cfg, path: str, count: int = 4):
    """``count`` training composites of a label-free config, as its mapper makes them."""
    mapper = SISegDatasetMapper(with_options(cfg, ["INPUT.SISEG.COMPOSITES.SHARE", "1.0"]), is_train=True)
    np.random.seed(cfg.SEED)
    records = DatasetCatalog.get(cfg.DATASETS.TRAIN[0])[:count]
    colors = MetadataCatalog.get(cfg.DATASETS.TRAIN[0]).get("stuff_colors")
    save_grid(composite_rows([mapper(r) for r in records], colors, cfg.INPUT.FORMAT), COMPOSITE_TITLES, path)


def main():
    args = parse_args()
    start = time.perf_counter()
    cfg = build_config(args.config_file, args.opts)
    os.makedirs(cfg.OUTPUT_DIR, exist_ok=True)
    logger = log_to(os.path.join(cfg.OUTPUT_DIR, "embedded_demo_log.txt"))
    val = cfg.DATASETS.TEST[0]
    for name in (*cfg.DATASETS.TRAIN, val):
        logger.info(f"{name}: {len(DatasetCatalog.get(name))} images")  # generated on first use
    learned = Row(f"SISeg, {cfg.MODEL.SISEG.SUPERVISION.replace('_', '-')} (this run)")
    averaged = Row(f"the same model, field averaged over {FIELD_AUGMENTATIONS} flips and transposes",
                   evaluate=("MODEL.SISEG.INFERENCE.FIELD_AUGMENTATIONS", str(FIELD_AUGMENTATIONS)))
    outcomes = run_rows([FLOOR, learned, averaged, CEILING], os.path.join(cfg.OUTPUT_DIR, "eval"),
                        args.config_file, args.opts, args.retrain)
    note = reference_note()
    header = (f"Val split `{val}`, ground-truth semantic masks in, config `{args.config_file}`, "
              f"{trained_iterations_note(cfg)}.\n\n")
    table = write_report(outcomes, os.path.join(cfg.OUTPUT_DIR, "results"), header, FLOOR.name, CEILING.name,
                         footer=note)

    written = ["results.md", "results.json", "pictures.png"]
    weights = os.path.join(cfg.OUTPUT_DIR, "model_final.pth")
    records = DatasetCatalog.get(val)[: args.pictures]
    mapper = SISegDatasetMapper(cfg, is_train=False)
    models = [load_model(cfg, weights), load_model(with_options(cfg, CC), "")]
    picture_rows = prediction_rows(records, mapper, *models, MetadataCatalog.get(val), cfg.INPUT.FORMAT)
    save_grid(picture_rows, TITLES, os.path.join(cfg.OUTPUT_DIR, "pictures.png"))
    if cfg.MODEL.SISEG.SUPERVISION == "label_free":
        composites_picture(cfg, os.path.join(cfg.OUTPUT_DIR, "composites.png"))
        written.append("composites.png")
    print("\n" + table + note)
    print(f"Written to {cfg.OUTPUT_DIR}: {', '.join(written)} (total {time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    run(main)
