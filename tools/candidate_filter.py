#!/usr/bin/env python
"""What the label-free candidate filter keeps: per solidity threshold, the share of thing
components it labels as single objects and how many of those are in truth merged objects.

    python tools/candidate_filter.py --config-file configs/shapes/siseg_label_free.yaml \\
        --min-solidity 0.8,0.85,0.9,0.95

Reads the training split's semantic masks (what label-free training sees) and, for this report
only, its instance annotations: a labelled component that holds more than one annotated instance
(each with at least 5% of its pixels) is a merged pair the filter let through.
"""
import argparse
from dataclasses import replace

import sisieg  # noqa: F401  isort: skip  (first: puts Detectron2's compiled-ops placeholder in place)

import numpy as np
from detectron2.data import DatasetCatalog
from tqdm import tqdm

from sisieg.config import thing_semantic_ids
from sisieg.data.composites import LABEL_FREE_SUPERVISIONS, composite_settings, isolated_objects
from sisieg.data.instance_ids import instance_id_map
from sisieg.data.semantic_io import read_semantic_mask
from sisieg.engine import build_config
from sisieg.errors import ConfigError
from sisieg.utils.cli import run

MIN_SHARE = 0.05  # an instance counts inside a component from this share of its pixels on


def objects_per_component(ids: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """(n,) how many annotated instances (``truth`` ids > 0) each labelled component 1..n of
    ``ids`` holds, counting those with at least MIN_SHARE of the component's pixels."""
    n, m = int(ids.max(initial=0)), int(truth.max(initial=0))
    if n == 0:
        return np.zeros(0, np.int64)
    inside = ids > 0
    pairs = np.bincount(ids[inside] * (m + 1) + truth[inside].clip(min=0), minlength=(n + 1) * (m + 1))
    pairs = pairs.reshape(n + 1, m + 1)[1:, 1:]
    area = np.bincount(ids[inside], minlength=n + 1)[1:, None]
    return (pairs >= MIN_SHARE * np.maximum(area, 1)).sum(1)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config-file", required=True)
    parser.add_argument("--min-solidity", type=lambda text: [float(v) for v in text.split(",")],
                        default=[0.8, 0.85, 0.9, 0.95], help="comma-separated thresholds")
    parser.add_argument("opts", nargs=argparse.REMAINDER, help="KEY VALUE config overrides")
    args = parser.parse_args()
    cfg = build_config(args.config_file, args.opts)
    settings = composite_settings(cfg.INPUT.SISEG.COMPOSITES)
    if cfg.MODEL.SISEG.SUPERVISION not in LABEL_FREE_SUPERVISIONS:
        raise ConfigError("the candidate filter is label-free training's: use MODEL.SISEG.SUPERVISION label_free")
    records = [r for name in cfg.DATASETS.TRAIN for r in DatasetCatalog.get(name)]
    if not all(r.get("annotations") for r in records if "sem_seg_file_name" in r):
        raise ConfigError("this report needs the training split's instance annotations (to count merged pairs)")
    thing_ids, ignore = thing_semantic_ids(cfg), cfg.MODEL.SISEG.IGNORE_VALUE
    totals = {t: np.zeros(4, np.int64) for t in args.min_solidity}  # components, labelled, merged, instances
    for record in tqdm(records, desc="candidate filter"):
        semantic = read_semantic_mask(record["sem_seg_file_name"], cfg.MODEL.SISEG.NUM_SEMANTIC_CLASSES, ignore)
        truth = instance_id_map(record["annotations"], *semantic.shape).astype(np.int64)
        everything = isolated_objects(semantic, thing_ids, replace(settings, min_solidity=0.0, min_area=0), ignore)
        for threshold in args.min_solidity:
            ids = isolated_objects(semantic, thing_ids, replace(settings, min_solidity=threshold), ignore)
            held = objects_per_component(ids, truth)
            totals[threshold] += [int(everything.max(initial=0)), held.size, int((held > 1).sum()), len(record["annotations"])]
    print(f"{len(records)} training images; a component is labelled when solidity >= threshold and area >= {settings.min_area}")
    print("| min solidity | thing components | labelled as single objects | of which merged (>1 instance) | instances covered by a label |")
    print("|---|---|---|---|---|")
    for threshold, (components, labelled, merged, instances) in totals.items():
        single = labelled - merged
        print(f"| {threshold:g} | {components} | {labelled} ({100.0 * labelled / max(components, 1):.1f}%) | "
              f"{merged} ({100.0 * merged / max(labelled, 1):.1f}%) | {single} of {instances} ({100.0 * single / max(instances, 1):.1f}%) |")


if __name__ == "__main__":
    run(main)
