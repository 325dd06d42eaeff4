#!/usr/bin/env python
"""Touching AP of finished evaluations on the embedded val, split into contact pairs and
occluding pairs (sisieg/evaluation/touching_kinds.py says why they differ).

    python tools/touching_breakdown.py output/shapes/siseg_instance/inference/sisieg_shapes_val/coco_instances_results.json [...]

Each argument is the ``coco_instances_results.json`` an evaluation of ``sisieg_shapes_val``
wrote (``tools/train_net.py --eval-only`` or a training's final evaluation); one table row each.
No model runs: a few seconds.
"""
import argparse
import contextlib
import io
import json
from pathlib import Path

import sisieg  # noqa: F401  isort: skip  (first: puts Detectron2's compiled-ops placeholder in place)

from pycocotools.coco import COCO

from sisieg.data.dataset_root import dataset_root
from sisieg.data.datasets.shapes import SHAPES_SPLITS
from sisieg.data.synthetic import split_paths
from sisieg.evaluation.touching_kinds import KINDS, subset_metrics, touching_kinds
from sisieg.utils.cli import run


def read_results(path: Path) -> list:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such results file (an evaluation writes inference/<dataset>/coco_instances_results.json)")
    return json.loads(path.read_text(encoding="utf-8"))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", nargs="+", type=Path, help="coco_instances_results.json files")
    parser.add_argument("--dataset", default="sisieg_shapes_val", choices=sorted(SHAPES_SPLITS))
    args = parser.parse_args()
    split, _, _, seed = SHAPES_SPLITS[args.dataset]
    json_file = split_paths(dataset_root(), split).json_file
    if not json_file.is_file():
        raise FileNotFoundError(f"{json_file}: the split has not been generated (run an evaluation on {args.dataset} first)")
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(str(json_file))
    kinds = touching_kinds(coco, split, seed)
    subsets = {"touching": list(kinds)}
    subsets.update({kind: [i for i, k in kinds.items() if k == kind] for kind in KINDS})
    header = " | ".join(f"{name} ({len(ids)}) AP / AP50 / AP75" for name, ids in subsets.items())
    print(f"| results | {header} |")
    print("|---|" + "---|" * len(subsets))
    for path in args.results:
        results = read_results(path)
        cells = []
        for ids in subsets.values():
            m = subset_metrics(coco, results, ids)
            cells.append(f"{m['AP']:.1f} / {m['AP50']:.1f} / {m['AP75']:.1f}")
        print(f"| {path} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    run(main)
