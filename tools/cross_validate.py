#!/usr/bin/env python
"""4-fold cross-validation on the StarDist nuclei: one training a held-out quarter, and the four
quarters' predictions scored together (every nucleus once, 137 of them, 36 touching) instead of
one quarter of 40.

    python -m sisieg.data.prepare.stardist_nuclei
    python tools/cross_validate.py --config-file configs/coco_format/siseg_instance.yaml \\
        --output-dir output/stardist_nuclei/cv/instance [KEY VALUE ...]
    python tools/cross_validate.py --config-file configs/coco_format/siseg_instance.yaml --eval-only \\
        --output-dir output/stardist_nuclei/cv/floor MODEL.SISEG.GROUPING connected_components
    (the ceiling: ``MODEL.SISEG.ORACLE_HEADS True`` in place of the grouping)
    python tools/cross_validate.py --config-file configs/coco_format/siseg_instance.yaml --eval-only \\
        --weights-from output/stardist_nuclei/cv/instance --output-dir output/stardist_nuclei/cv/instance_saddle0 \\
        MODEL.SISEG.VOTES.SADDLE_RATIO 0.0
    (each fold's trained model, ``<weights-from>/<tile>/model_final.pth``, under other inference settings;
    ``--checkpoint model_0001199.pth`` takes that checkpoint of every fold instead: a pooled learning curve)

Each fold runs ``tools/train_net.py`` with the fold's ``DATASETS.SISEG_COCO`` entries and
``OUTPUT_DIR <output-dir>/<tile>``, then the pooled evaluation (``sisieg/evaluation/
pooled_folds.py``) prints one row per fold and the pooled row, and writes them to
``<output-dir>/cross_validation.json``. A fold whose predictions exist is not run again
(``--force`` reruns it): an interrupted run resumes at the fold it stopped in. The pooled
ground truth and evaluation files go to ``<output-dir>/pooled``, each fold's own to
``<output-dir>/<tile>/held_out``. Four trainings
of the COCO-format recipe take about 45 minutes on 2 CPU cores.
"""
import argparse
import json
import subprocess
import sys
from pathlib import Path

import sisieg  # noqa: F401  isort: skip  (first: puts Detectron2's compiled-ops placeholder in place)

from sisieg.data.atomic_io import write_json_atomically
from sisieg.data.dataset_root import dataset_root
from sisieg.data.prepare.stardist_nuclei import FOLDER, FOLDS, entries
from sisieg.evaluation.pooled_folds import evaluate_pooled
from sisieg.utils.cli import run

TRAIN_NET = Path(__file__).resolve().parent / "train_net.py"
VAL = entries()[-1][0]  # the held-out split's name (the last entry: DATASETS.TEST) in every fold
METRICS = ("segm", "segm_touching")  # the columns: AP and AP on touching nuclei
FINAL_MODEL = "model_final.pth"  # what a fold's training leaves; --checkpoint names another


def predictions_file(fold_dir: Path) -> Path:
    return fold_dir / "inference" / VAL / "instances_predictions.pth"


def run_fold(args, fold: str, fold_dir: Path):
    """Train (or only evaluate) on one fold; SystemExit naming the fold if it fails."""
    command = [sys.executable, str(TRAIN_NET), "--config-file", args.config_file]
    command += ["--eval-only"] if args.eval_only else []
    command += ["MODEL.WEIGHTS", str(fold_weights(args.weights_from, fold, args.checkpoint))] if args.weights_from else []
    command += ["DATASETS.SISEG_COCO", json.dumps(entries(fold)), "OUTPUT_DIR", str(fold_dir), *args.opts]
    print(f"fold {fold}: {'evaluating' if args.eval_only else 'training'} into {fold_dir} (log: {fold_dir / 'log.txt'})", flush=True)
    if subprocess.run(command).returncode != 0:
        raise SystemExit(f"fold {fold}: tools/train_net.py failed (its log: {fold_dir / 'log.txt'})")
    if not predictions_file(fold_dir).is_file():
        raise SystemExit(f"fold {fold}: no predictions at {predictions_file(fold_dir)} (did the evaluation run?)")


def fold_weights(weights_from: Path, fold: str, checkpoint: str) -> Path:
    """The model (or the given checkpoint) a cross-validation in ``weights_from`` trained for this fold."""
    return weights_from / fold / checkpoint


def metrics(results: dict) -> dict:
    return {m: results.get(m, {}).get("AP", float("nan")) for m in METRICS}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config-file", required=True, help="a COCO-format config (or an oracle config with --eval-only)")
    parser.add_argument("--output-dir", required=True, type=Path, help="one folder a fold below it, and the pooled results")
    parser.add_argument("--eval-only", action="store_true", help="no training (connected components, perfect heads, given MODEL.WEIGHTS)")
    parser.add_argument("--weights-from", type=Path, help="with --eval-only: each fold's model_final.pth from this cross-validation's folder")
    parser.add_argument("--checkpoint", default=FINAL_MODEL,
                        help="with --weights-from: each fold's checkpoint of this name, e.g. model_0001199.pth (a learning curve)")
    parser.add_argument("--folds", nargs="+", default=list(FOLDS), choices=FOLDS, help="the quarters to hold out (default: all four)")
    parser.add_argument("--force", action="store_true", help="run folds again even where their predictions exist")
    parser.add_argument("opts", nargs=argparse.REMAINDER, help="KEY VALUE config overrides, given to every fold")
    args = parser.parse_args()
    if not Path(args.config_file).is_file():
        raise FileNotFoundError(f"{args.config_file}: no such config file")
    if args.weights_from and not args.eval_only:
        raise SystemExit("--weights-from re-evaluates trained folds: give --eval-only too")
    if args.checkpoint != FINAL_MODEL and not args.weights_from:
        raise SystemExit("--checkpoint picks a checkpoint of --weights-from's folds: give --weights-from too")
    for fold in args.folds if args.weights_from else ():
        weights = fold_weights(args.weights_from, fold, args.checkpoint)
        if not weights.is_file():
            raise FileNotFoundError(f"{weights}: no trained model for fold {fold}")
    root = Path(dataset_root()) / FOLDER
    for fold in args.folds:
        if not (root / "folds" / fold / "val.json").is_file():
            raise FileNotFoundError(f"{root / 'folds' / fold / 'val.json'}: not prepared (python -m sisieg.data.prepare.stardist_nuclei --force)")
    for fold in args.folds:
        fold_dir = args.output_dir / fold
        if predictions_file(fold_dir).is_file() and not args.force:
            print(f"fold {fold}: predictions exist in {fold_dir}, kept (--force reruns it)")
        else:
            run_fold(args, fold, fold_dir)
    vals = {f: str(root / "folds" / f / "val.json") for f in args.folds}
    predictions = {f: str(predictions_file(args.output_dir / f)) for f in args.folds}
    images = str(root / "images")
    rows = {f: metrics(evaluate_pooled([vals[f]], [predictions[f]], images, str(args.output_dir / f / "held_out"), f"held_out_{f}"))
            for f in args.folds}  # each fold alone, as its training's evaluation scored it
    rows["pooled"] = metrics(evaluate_pooled(list(vals.values()), list(predictions.values()), images, str(args.output_dir / "pooled")))
    print(f"\n{args.config_file} {' '.join(args.opts)}\n| held out | AP | AP touching |\n|---|---|---|")
    for name, row in rows.items():
        print(f"| {name} | {row['segm']:.1f} | {row['segm_touching']:.1f} |")
    write_json_atomically(args.output_dir / "cross_validation.json",
                          {"config_file": args.config_file, "opts": args.opts, "folds": rows})


if __name__ == "__main__":
    run(main)
