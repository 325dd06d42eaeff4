"""Named experiment plans: variants of one config, trained once each, evaluated side by side.

A variant has training overrides (variants with the same ones share one training, and no
training overrides means the config's own ``OUTPUT_DIR``, i.e. the main job's model) and
evaluation-only overrides. Every row of the project's result tables comes from a plan
run by ``tools/sweep.py --plan NAME``.
"""
import os
import re
from dataclasses import dataclass
from typing import Dict, List, Tuple

from .runs import evaluate, train_if_needed, with_options


@dataclass(frozen=True)
class Variant:
    name: str
    train: Tuple[str, ...] = ()  # KEY VALUE overrides that change the training
    evaluate: Tuple[str, ...] = ()  # KEY VALUE overrides applied at evaluation only


CC = ("MODEL.SISEG.GROUPING", "connected_components")
PLANS: Dict[str, List[Variant]] = {
    # issue: instance-aware training where instance labels exist
    "supervision": [
        Variant("connected components", evaluate=CC),
        Variant("SISeg semantic (paper)"),
        Variant("SISeg mixed, 10% instance labels",
                train=("MODEL.SISEG.SUPERVISION", "mixed", "INPUT.SISEG.INSTANCE_LABEL_FRACTION", "0.1")),
        Variant("SISeg mixed, 50% instance labels",
                train=("MODEL.SISEG.SUPERVISION", "mixed", "INPUT.SISEG.INSTANCE_LABEL_FRACTION", "0.5")),
        Variant("SISeg instance", train=("MODEL.SISEG.SUPERVISION", "instance")),
    ],
    # inference-side ablations of the paper's (semantic) model: no retraining
    "inference": [
        Variant("connected components", evaluate=CC),
        Variant("SISeg defaults"),
        Variant("no refinement (0 iterations)", evaluate=("MODEL.SISEG.INFERENCE.REFINE_ITERS", "0")),
        Variant("IRNet centroid threshold 2.5",
                evaluate=("MODEL.SISEG.INFERENCE.CENTROID_RELATIVE_THRESHOLD", "0.0")),
        Variant("no random walk", evaluate=("MODEL.SISEG.INFERENCE.RANDOM_WALK", "False")),
        Variant("walk may cross classes", evaluate=("MODEL.SISEG.INFERENCE.WITHIN_SEMANTIC_REGION", "False")),
        Variant("no connectivity split",
                evaluate=("MODEL.SISEG.INFERENCE.SPLIT_BY_SEMANTIC_CONNECTIVITY", "False")),
    ],
    # training-side ablations of the paper's (semantic) model
    "training": [
        Variant("connected components", evaluate=CC),
        Variant("SISeg defaults (radius 10)"),
        Variant("pair radius 5", train=("MODEL.SISEG.PAIRS.TRAIN_RADIUS", "5")),
        Variant("image + mask input", train=("MODEL.SISEG.INPUT_MODE", "image+mask")),
        Variant("2x iterations", train=("SOLVER.MAX_ITER", "600")),
    ],
}


def slug(overrides: Tuple[str, ...]) -> str:
    """A folder name for a set of training overrides."""
    text = "_".join(f"{k.split('.')[-1]}-{v}" for k, v in zip(overrides[::2], overrides[1::2]))
    return re.sub(r"[^A-Za-z0-9_.-]+", "", text.lower())


def run_plan(cfg, variants: List[Variant], retrain: bool = False):
    """Train what the variants need, evaluate each; return (name, results, extra) rows."""
    rows = []
    for variant in variants:
        train_dir = cfg.OUTPUT_DIR
        if variant.train:
            train_dir = os.path.join(cfg.OUTPUT_DIR, "sweep", slug(variant.train))
        train_cfg = with_options(cfg, [*variant.train, "OUTPUT_DIR", train_dir])
        weights = train_if_needed(train_cfg, retrain)
        eval_dir = os.path.join(train_dir, "eval_" + (slug(variant.evaluate) or "default"))
        eval_cfg = with_options(train_cfg, [*variant.evaluate, "OUTPUT_DIR", eval_dir])
        results, seconds = evaluate(eval_cfg, weights)
        rows.append((variant.name, results, {"s / image (CPU)": f"{seconds:.3f}"}))
    return rows
