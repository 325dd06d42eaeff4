#!/usr/bin/env python
"""Self-training round: a trained label-free model splits the training masks; its confident
splits become the next round's instance labels (sisieg/data/proxy_labels.py).

    python tools/proxy_labels.py --config-file configs/shapes/siseg_label_free.yaml \\
        --output output/shapes/proxy_labels MODEL.WEIGHTS output/shapes/siseg_label_free/model_final.pth
    python tools/train_net.py --config-file configs/shapes/siseg_label_free.yaml \\
        INPUT.SISEG.COMPOSITES.PROXY_LABELS output/shapes/proxy_labels \\
        MODEL.WEIGHTS output/shapes/siseg_label_free/model_final.pth OUTPUT_DIR output/shapes/round2 ...

The model sees each training image's semantic mask (and image), never its instance
annotations. ``--check`` then compares the new labels with the annotations, if the json has
them, for the report only (the share of proxy instances that match a true one).
"""
import argparse
import json
import os

import sisieg  # noqa: F401  isort: skip  (first: puts Detectron2's compiled-ops placeholder in place)

import numpy as np
import torch
from detectron2.data import DatasetCatalog
from tqdm import tqdm

from sisieg.config import thing_semantic_ids
from sisieg.data.composites import LABEL_FREE_SUPERVISIONS, composite_settings, isolated_objects
from sisieg.data.dataset_mapper import SISegDatasetMapper
from sisieg.data.instance_ids import instance_id_map
from sisieg.data.proxy_labels import proxy_ids, proxy_path, write_proxy_ids
from sisieg.engine import build_config
from sisieg.engine.runs import load_model
from sisieg.errors import ConfigError
from sisieg.utils.cli import run


def predicted_labels(instances) -> np.ndarray:
    """(H, W) int64 ids 1..N of the model's (disjoint) instance masks, 0 elsewhere."""
    masks = instances.pred_masks
    if masks.shape[0] == 0:
        return np.zeros(tuple(instances.image_size), np.int64)
    ids = torch.arange(1, masks.shape[0] + 1, device=masks.device)[:, None, None]
    return (masks.long() * ids).max(dim=0).values.cpu().numpy()


def matched_share(ids: np.ndarray, first_new: int, annotations, shape) -> tuple:
    """(proxy instances numbered ``first_new``.. that match an annotated instance at IoU >= 0.5,
    proxy instances): the report's check, never a training input."""
    new = np.unique(ids[ids >= first_new])
    if new.size == 0 or not annotations:
        return 0, int(new.size)
    truth = instance_id_map(annotations, *shape).astype(np.int64).clip(min=0)  # crowds: no instance
    inside = ids >= first_new
    pairs = np.bincount((ids[inside] - first_new) * (len(annotations) + 1) + truth[inside],
                        minlength=(int(new.max()) - first_new + 1) * (len(annotations) + 1))
    pairs = pairs.reshape(-1, len(annotations) + 1)[new - first_new]
    area_pred = pairs.sum(1)
    area_true = np.bincount(truth.ravel(), minlength=len(annotations) + 1)
    iou = pairs / np.maximum(area_pred[:, None] + area_true[None] - pairs, 1)
    return int((iou[:, 1:].max(1) >= 0.5).sum()), int(new.size)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config-file", required=True)
    parser.add_argument("--output", required=True, help="folder for the proxy-id PNGs")
    parser.add_argument("--min-score", type=float, default=0.3, help="every piece of a split must score this")
    parser.add_argument("--whole", action="store_true", help="also label components the model keeps as one confident instance")
    parser.add_argument("--check", action="store_true", help="report the share of new instances that match annotations")
    parser.add_argument("opts", nargs=argparse.REMAINDER, help="KEY VALUE config overrides (MODEL.WEIGHTS ...)")
    args = parser.parse_args()
    cfg = build_config(args.config_file, args.opts)
    if cfg.MODEL.SISEG.ORACLE_HEADS or not cfg.MODEL.WEIGHTS:
        raise ConfigError("proxy labels come from a trained model: give MODEL.WEIGHTS, without ORACLE_HEADS")
    if cfg.MODEL.SISEG.SUPERVISION not in LABEL_FREE_SUPERVISIONS:
        raise ConfigError("proxy labels are for label-free training: use MODEL.SISEG.SUPERVISION label_free")
    settings = composite_settings(cfg.INPUT.SISEG.COMPOSITES)
    model = load_model(cfg, cfg.MODEL.WEIGHTS)
    mapper = SISegDatasetMapper(cfg, is_train=False)
    thing_ids, ignore = thing_semantic_ids(cfg), cfg.MODEL.SISEG.IGNORE_VALUE
    totals = {"images": 0, "unknown_components": 0, "split": 0, "new_instances": 0, "matched": 0, "checked": 0}
    records = [r for name in cfg.DATASETS.TRAIN for r in DatasetCatalog.get(name)]
    for record in tqdm(records, desc="proxy labels"):
        annotations = record.get("annotations", []) if args.check else []
        inputs = mapper({k: v for k, v in record.items() if k != "annotations"})  # never the labels
        with torch.no_grad():
            instances = model([inputs])[0]["instances"].to("cpu")
        semantic = inputs["sem_seg"].numpy()
        isolated = isolated_objects(semantic, thing_ids, settings, ignore)
        ids, counts = proxy_ids(isolated, semantic, predicted_labels(instances), instances.scores.numpy(),
                                args.min_score, settings.min_area, args.whole, ignore)
        write_proxy_ids(proxy_path(args.output, record["file_name"]), ids)
        totals["images"] += 1
        for key, value in counts._asdict().items():
            totals[key] += value
        if annotations:
            matched, checked = matched_share(ids, int(isolated.max(initial=0)) + 1, annotations, semantic.shape)
            totals["matched"] += matched
            totals["checked"] += checked
    unknown_left = totals["unknown_components"] - totals["split"]
    print(f"{totals['images']} images: {totals['unknown_components']} thing components unknown to the isolated-object "
          f"rule, {totals['split']} {'resolved' if args.whole else 'split'} confidently into {totals['new_instances']} instances, {unknown_left} left unknown")
    if totals["checked"]:
        print(f"check against the annotations: {totals['matched']} of {totals['checked']} new instances "
              f"({100.0 * totals['matched'] / totals['checked']:.1f}%) match a true instance at IoU >= 0.5")
    with open(os.path.join(args.output, "summary.json"), "w", encoding="utf-8") as f:
        json.dump({**totals, "min_score": args.min_score, "whole": args.whole, "weights": cfg.MODEL.WEIGHTS}, f, indent=1)


if __name__ == "__main__":
    run(main)
