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
    learned: bool = True  # False: nothing is trained or loaded (connected components, perfect heads)
    series: str = ""  # for a plan's line chart: the line this variant is a point of ...
    x: float = 0.0  # ... and its abscissa


CC = ("MODEL.SISEG.GROUPING", "connected_components")
ORACLE = ("MODEL.SISEG.ORACLE_HEADS", "True")
FLOOR = Variant("connected components (floor)", evaluate=CC, learned=False)
CEILING = Variant("perfect heads (ceiling)", evaluate=ORACLE, learned=False)
# The paper's post-processing: IRNet's centroid regions on a stride-4 field and the random walk.
IRNET = ("MODEL.SISEG.GROUPING", "irnet", "MODEL.SISEG.DFM.NAME", "irnet", "MODEL.SISEG.INFERENCE.RANDOM_WALK", "True")
NOISE_LEVELS = (0.0, 0.5, 1.0, 2.0, 4.0)  # input pixels
# The paper's pair losses (Eq. 9-10) and boundary loss (Eq. 16), off in the recipe.
PAIR_LOSSES = ("MODEL.SISEG.DFM.LOSS_FG_WEIGHT", "1.0", "MODEL.SISEG.DFM.LOSS_BG_WEIGHT", "1.0",
               "MODEL.SISEG.CBR.LOSS_WEIGHT", "1.0")
# The previous recipe's network: Detectron2's ResNet-18 and IRNet-width heads, with the pair losses.
RESNET18 = ("MODEL.BACKBONE.NAME", "build_resnet_backbone", "MODEL.SISEG.DFM.LEVEL_CHANNELS", "[64, 128, 256, 256, 256]",
            "MODEL.SISEG.DFM.FUSE_CHANNELS", "256", "MODEL.SISEG.DFM.FINE_CHANNELS", "32", "MODEL.SISEG.CBR.CHANNELS", "32",
            *PAIR_LOSSES, "SOLVER.MAX_ITER", "240", "SOLVER.CHECKPOINT_PERIOD", "60")


def robustness_plan() -> List[Variant]:
    """The perfect heads degraded: field noise for the new and the old grouping, and the old
    grouping's walk with a blurred or missing boundary map. Nothing is trained."""
    groupings = (
        ("votes, stride 1 (default)", ("MODEL.SISEG.DFM.NAME", "fine", "MODEL.SISEG.DFM.OUTPUT_STRIDE", "1")),
        ("votes, stride 4", ("MODEL.SISEG.DFM.NAME", "irnet")),
        ("IRNet, stride 4, no walk", IRNET[:4]),
        ("IRNet, stride 4, walk (paper)", IRNET),
    )
    variants = [
        Variant(f"{name}, noise {sigma:g} px", evaluate=(*ORACLE, *opts, "MODEL.SISEG.ORACLE.NOISE", str(sigma)),
                learned=False, series=name, x=sigma)
        for name, opts in groupings for sigma in NOISE_LEVELS
    ]
    variants += [
        Variant(f"IRNet, stride 4, walk (paper), boundary {mode}",
                evaluate=(*ORACLE, *IRNET, "MODEL.SISEG.ORACLE.BOUNDARY", mode), learned=False)
        for mode in ("blurred", "missing")
    ]
    return [FLOOR, *variants]
PLANS: Dict[str, List[Variant]] = {
    # issue: instance-aware training where instance labels exist
    "supervision": [
        FLOOR,
        CEILING,
        Variant("SISeg label-free (the main job)"),
        Variant("SISeg semantic (paper loss)", train=("MODEL.SISEG.SUPERVISION", "semantic", *PAIR_LOSSES)),
        Variant("SISeg mixed, 10% instance labels",
                train=("MODEL.SISEG.SUPERVISION", "mixed", "INPUT.SISEG.INSTANCE_LABEL_FRACTION", "0.1")),
        Variant("SISeg mixed, 50% instance labels",
                train=("MODEL.SISEG.SUPERVISION", "mixed", "INPUT.SISEG.INSTANCE_LABEL_FRACTION", "0.5")),
        Variant("SISeg instance", train=("MODEL.SISEG.SUPERVISION", "instance")),
    ],
    # inference-side ablations of the trained model: no retraining
    "inference": [
        FLOOR,
        CEILING,
        Variant("SISeg defaults (votes, no walk)"),
        Variant("with the random walk", evaluate=("MODEL.SISEG.INFERENCE.RANDOM_WALK", "True")),
        Variant("IRNet grouping, no walk", evaluate=IRNET[:2]),
        Variant("IRNet grouping + walk (paper)", evaluate=(*IRNET[:2], *IRNET[4:])),
        Variant("vote bins of 2 px", evaluate=("MODEL.SISEG.VOTES.BIN_SIZE", "2.0")),
        Variant("no saddle merging", evaluate=("MODEL.SISEG.VOTES.SADDLE_RATIO", "0.0")),
        Variant("pieces never join (strict connectivity)", evaluate=("MODEL.SISEG.VOTES.MERGE_RADIUS", "0.0")),
    ],
    # the learning recipe's ablations at about equal CPU time (label-free, the main job's config)
    "recipe": [
        FLOOR,
        CEILING,
        Variant("the recipe (light backbone, offset loss, 900 it)"),
        Variant("ResNet-18 + pair losses, 240 it (previous recipe)", train=RESNET18),
        Variant("light backbone + pair losses, 500 it",
                train=(*PAIR_LOSSES, "SOLVER.MAX_ITER", "500", "SOLVER.CHECKPOINT_PERIOD", "100")),
        Variant("every training image a composite", train=("INPUT.SISEG.COMPOSITES.SHARE", "1.0")),
        Variant("3 of 4 training images composites", train=("INPUT.SISEG.COMPOSITES.SHARE", "0.75")),
        Variant("instance labels instead", train=("MODEL.SISEG.SUPERVISION", "instance")),
    ],
    "robustness": robustness_plan(),
}
CHART_AXES = {"robustness": "noise on the perfect field (std, input pixels)"}  # x axis of a plan's chart


def slug(overrides: Tuple[str, ...]) -> str:
    """A folder name for a set of training overrides."""
    text = "_".join(f"{k.split('.')[-1]}-{v}" for k, v in zip(overrides[::2], overrides[1::2]))
    return re.sub(r"[^A-Za-z0-9_.-]+", "", text.lower())


def chart_panels(variants: List[Variant], rows) -> Dict[str, Dict[str, List[Tuple[float, float]]]]:
    """{"AP": {series: [(x, AP)]}, "AP touching": ...} of the variants that belong to a series."""
    panels = {"AP": {}, "AP touching": {}}
    for variant, (_, results, _) in zip(variants, rows):
        if variant.series:
            for panel, task in (("AP", "segm"), ("AP touching", "segm_touching")):
                panels[panel].setdefault(variant.series, []).append((variant.x, results[task]["AP"]))
    return panels if panels["AP"] else {}


def run_plan(cfg, variants: List[Variant], retrain: bool = False):
    """Train what the variants need, evaluate each; return (name, results, extra) rows."""
    rows = []
    for variant in variants:
        train_dir = cfg.OUTPUT_DIR
        if variant.train:
            train_dir = os.path.join(cfg.OUTPUT_DIR, "sweep", slug(variant.train))
        train_cfg = with_options(cfg, [*variant.train, "OUTPUT_DIR", train_dir])
        weights = train_if_needed(train_cfg, retrain) if variant.learned else ""
        eval_dir = os.path.join(train_dir, "eval_" + (slug(variant.evaluate) or "default"))
        eval_cfg = with_options(train_cfg, [*variant.evaluate, "OUTPUT_DIR", eval_dir])
        results, seconds = evaluate(eval_cfg, weights)
        rows.append((variant.name, results, {"s / image (CPU)": f"{seconds:.3f}"}))
    return rows
