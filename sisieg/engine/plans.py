"""The project's named experiments, as rows for the runner (:mod:`sisieg.engine.experiments`).

``PLANS`` are variants of one config (``tools/sweep.py --plan NAME``, the main job's config by
default): a row's training overrides give it its own training (rows with the same ones share
it; none means the config's own model, i.e. the main job's), its evaluation overrides apply at
evaluation only. ``COMPARISON`` holds rows with their own configs (``tools/compare.py``): SISeg
and connected components on ground-truth and on predicted masks, the perfect heads on both,
and Detectron2's Mask R-CNN. Every row of the project page's tables comes from one of them.
"""
from typing import Dict, List

from .experiments import Row
from .setup import REPOSITORY

CC = ("MODEL.SISEG.GROUPING", "connected_components")
ORACLE = ("MODEL.SISEG.ORACLE_HEADS", "True")
FLOOR = Row("connected components (floor)", weights="", evaluate=CC)
CEILING = Row("perfect heads (ceiling)", weights="", evaluate=ORACLE)
# The paper's post-processing: IRNet's centroid regions on a stride-4 field and the random walk.
IRNET = ("MODEL.SISEG.GROUPING", "irnet", "MODEL.SISEG.DFM.NAME", "irnet", "MODEL.SISEG.INFERENCE.RANDOM_WALK", "True")
NOISE_LEVELS = (0.0, 0.5, 1.0, 2.0, 4.0)  # input pixels
# The paper's pair losses (Eq. 9-10) and boundary loss (Eq. 16), off in the recipe.
PAIR_LOSSES = ("MODEL.SISEG.DFM.LOSS_FG_WEIGHT", "1.0", "MODEL.SISEG.DFM.LOSS_BG_WEIGHT", "1.0",
               "MODEL.SISEG.CBR.LOSS_WEIGHT", "1.0")
# Whole scenes: every table before the main job's 192² crops was measured on them.
WHOLE_SCENE_CROP = ("INPUT.SISEG.CROP_SIZE", "256")
WHOLE_SCENES = (*WHOLE_SCENE_CROP, "SOLVER.MAX_ITER", "2400")  # and the iteration cap of that config
# The batch the tables before the main job's batch 4 were measured with (on whole scenes).
BATCH8 = ("SOLVER.IMS_PER_BATCH", "8", *WHOLE_SCENE_CROP)
# The recipe before the mask's distance channel.
NO_DISTANCE = ("MODEL.SISEG.MASK_DISTANCE_CAP", "0.0")
# The previous recipe's network: Detectron2's ResNet-18 and IRNet-width heads, with the pair losses.
RESNET18 = ("MODEL.BACKBONE.NAME", "build_resnet_backbone", "MODEL.SISEG.DFM.LEVEL_CHANNELS", "[64, 128, 256, 256, 256]",
            "MODEL.SISEG.DFM.FUSE_CHANNELS", "256", "MODEL.SISEG.DFM.FINE_CHANNELS", "32", "MODEL.SISEG.CBR.CHANNELS", "32",
            *PAIR_LOSSES, "SOLVER.MAX_ITER", "240", "SOLVER.CHECKPOINT_PERIOD", "60", "MODEL.SISEG.TRAIN_PRECISION", "float32",
            *NO_DISTANCE, *BATCH8)
# The recipe before bfloat16: float32 and the 900 iterations that fit the same time (no distance channel).
FLOAT32 = ("MODEL.SISEG.TRAIN_PRECISION", "float32", "SOLVER.MAX_ITER", "900", "SOLVER.CHECKPOINT_PERIOD", "150",
           *NO_DISTANCE, *BATCH8, "MODEL.SISEG.DFM.FINE_CHANNELS", "16")


def robustness_plan() -> List[Row]:
    """The perfect heads degraded: field noise for the new and the old grouping, and the old
    grouping's walk with a blurred or missing boundary map. Nothing is trained."""
    groupings = (
        ("votes, stride 1 (default)", ("MODEL.SISEG.DFM.NAME", "fine", "MODEL.SISEG.DFM.OUTPUT_STRIDE", "1")),
        ("votes, stride 4", ("MODEL.SISEG.DFM.NAME", "irnet")),
        ("IRNet, stride 4, no walk", IRNET[:4]),
        ("IRNet, stride 4, walk (paper)", IRNET),
    )
    rows = [
        Row(f"{name}, noise {sigma:g} px", weights="", evaluate=(*ORACLE, *opts, "MODEL.SISEG.ORACLE.NOISE", str(sigma)),
            series=name, x=sigma)
        for name, opts in groupings for sigma in NOISE_LEVELS
    ]
    rows += [
        Row(f"IRNet, stride 4, walk (paper), boundary {mode}", weights="",
            evaluate=(*ORACLE, *IRNET, "MODEL.SISEG.ORACLE.BOUNDARY", mode))
        for mode in ("blurred", "missing")
    ]
    return [FLOOR, *rows]


PLANS: Dict[str, List[Row]] = {
    # issue: instance-aware training where instance labels exist
    "supervision": [
        FLOOR,
        CEILING,
        Row("SISeg label-free (the main job)"),
        Row("SISeg semantic (paper loss)", train=("MODEL.SISEG.SUPERVISION", "semantic", *PAIR_LOSSES)),
        Row("SISeg mixed, 10% instance labels",
            train=("MODEL.SISEG.SUPERVISION", "mixed", "INPUT.SISEG.INSTANCE_LABEL_FRACTION", "0.1")),
        Row("SISeg mixed, 50% instance labels",
            train=("MODEL.SISEG.SUPERVISION", "mixed", "INPUT.SISEG.INSTANCE_LABEL_FRACTION", "0.5")),
        Row("SISeg instance", train=("MODEL.SISEG.SUPERVISION", "instance")),
    ],
    # inference-side ablations of the trained model: no retraining
    "inference": [
        FLOOR,
        CEILING,
        Row("SISeg defaults (votes, no walk)"),
        Row("with the random walk", evaluate=("MODEL.SISEG.INFERENCE.RANDOM_WALK", "True")),
        Row("IRNet grouping, no walk", evaluate=IRNET[:2]),
        Row("IRNet grouping + walk (paper)", evaluate=(*IRNET[:2], *IRNET[4:])),
        Row("vote bins of 2 px", evaluate=("MODEL.SISEG.VOTES.BIN_SIZE", "2.0")),
        Row("no saddle merging", evaluate=("MODEL.SISEG.VOTES.SADDLE_RATIO", "0.0")),
        Row("pieces never join (strict connectivity)", evaluate=("MODEL.SISEG.VOTES.MERGE_RADIUS", "0.0")),
    ],
    # the learning recipe's ablations at about equal CPU time (label-free, the main job's config)
    "recipe": [
        FLOOR,
        CEILING,
        Row("the recipe (light backbone, offset loss, mask distance channel, batch 4, 10 minutes)"),
        Row("the recipe at batch 8 (1200 it at most; bfloat16 where the CPU has it)",
            train=(*BATCH8, "SOLVER.MAX_ITER", "1200", "SOLVER.CHECKPOINT_PERIOD", "200")),
        Row("the recipe without the mask's distance channel", train=NO_DISTANCE),
        Row("the recipe on whole 256² scenes instead of 192² crops (before)",
            train=WHOLE_SCENES),
        Row("the recipe with 16 full-resolution channels (before)", train=(*WHOLE_SCENES, "MODEL.SISEG.DFM.FINE_CHANNELS", "16")),
        Row("the recipe with weight averaging (decay 0.99)", train=(*WHOLE_SCENES, "SOLVER.SISEG.WEIGHT_AVERAGE_DECAY", "0.99")),
        Row("the recipe in float32, 900 it (about the same time)", train=FLOAT32),
        Row("ResNet-18 + pair losses, 240 it (previous recipe)", train=RESNET18),
        Row("light backbone + pair losses, 500 it",
            train=(*PAIR_LOSSES, *BATCH8, "SOLVER.MAX_ITER", "500", "SOLVER.CHECKPOINT_PERIOD", "100")),
        Row("every training image a composite", train=("INPUT.SISEG.COMPOSITES.SHARE", "1.0")),
        Row("3 of 4 training images composites", train=("INPUT.SISEG.COMPOSITES.SHARE", "0.75")),
        Row("instance labels instead", train=("MODEL.SISEG.SUPERVISION", "instance")),
    ],
    "robustness": robustness_plan(),
    # real data: the COCO-format recipe on the StarDist wheel's nuclei (sisieg.data.prepare.stardist_nuclei),
    # run with --config-file configs/coco_format/siseg_instance.yaml and its DATASETS.SISEG_COCO entries
    "nuclei": [
        FLOOR,
        CEILING,
        Row("SISeg instance labels (coco_format/siseg_instance.yaml)"),
        Row("SISeg label-free, training json without annotations (coco_format/siseg_label_free.yaml)",
            train=("MODEL.SISEG.SUPERVISION", "label_free", "DATASETS.TRAIN", "('stardist_nuclei_train_semantic_only',)")),
    ],
}
CHART_AXES = {"robustness": "noise on the perfect field (std, input pixels)"}  # x axis of a plan's chart

SHAPES = f"{REPOSITORY / 'configs' / 'shapes'}/"  # from the checkout, not the working directory
SISEG_GT = SHAPES + "siseg_label_free.yaml"
SEGMENTER = SHAPES + "semseg_light.yaml"
COMPARISON_FLOOR = "connected components + ground-truth masks"
COMPARISON_CEILING = "perfect heads + ground-truth masks (ceiling)"
SISEG_INSTANCE = SHAPES + "siseg_instance.yaml"
SISEG_PREDICTED = SHAPES + "siseg_semseg_light.yaml"  # any SISeg model on the segmenter's masks
PREDICTED_MASKS = (  # siseg_semseg_light.yaml's segmenter, on another SISeg config
    "MODEL.SISEG.SEGMENTER.NAME", "detectron2", "MODEL.SISEG.SEGMENTER.D2_CONFIG", SEGMENTER,
    "MODEL.SISEG.SEGMENTER.D2_WEIGHTS", "output/shapes/semseg_light/model_final.pth",
)
COMPARISON: List[Row] = [
    Row("SISeg label-free + ground-truth masks", SISEG_GT),
    Row("SISeg label-free + trained segmenter", SISEG_PREDICTED, SISEG_GT, needs=(SEGMENTER,)),
    Row("SISeg instance labels + ground-truth masks", SISEG_INSTANCE),
    # The instance model has its own network (the image in, a centre head): its config, the segmenter swapped in.
    Row("SISeg instance labels + trained segmenter", SISEG_INSTANCE, SISEG_INSTANCE, evaluate=PREDICTED_MASKS,
        needs=(SEGMENTER,)),
    Row(COMPARISON_FLOOR, SHAPES + "cc_oracle.yaml", ""),
    Row(COMPARISON_CEILING, SHAPES + "ceiling_oracle.yaml", ""),
    Row("connected components + trained segmenter", SHAPES + "cc_semseg_light.yaml", "", needs=(SEGMENTER,)),
    Row("perfect heads + trained segmenter", SHAPES + "ceiling_semseg_light.yaml", "", needs=(SEGMENTER,)),
    Row("Mask R-CNN R50-FPN (Detectron2)", SHAPES + "mask_rcnn_R50_FPN_bs8_300it.yaml"),
    Row("Mask R-CNN R18-FPN (Detectron2)", SHAPES + "mask_rcnn_R18_FPN_bs8_300it.yaml"),
]
