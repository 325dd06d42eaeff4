"""Side-by-side evaluation: SISeg, its baselines and Detectron2's Mask R-CNN on one val split.

Each row is a config (any meta-architecture Detectron2 or sisieg registers) and where its
weights come from. Every row is evaluated by the same COCOEvaluator (``Trainer.build_evaluator``)
at batch 1, timed end to end; SISeg rows also score their segmenter's mask with
SemSegEvaluator (mIoU), and every row reports its parameters (frozen / trainable) and its
networks' FLOPs (fvcore) on the first val image, and draws its predictions on the first few
val images. ``tools/compare.py`` runs the rows and writes the table, the bar chart and the
pictures.
"""
import logging
import os
import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from detectron2.data import DatasetCatalog, MetadataCatalog
from detectron2.evaluation import DatasetEvaluators, SemSegEvaluator

from ..data.image_io import read_image
from ..visualization.prediction_panels import draw_instances
from .benchmark import flops, parameter_counts
from .runs import load_model, train_if_needed, with_options
from .setup import build_config
from .timing import ForwardTimer
from .trainer import Trainer, build_mapper

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Row:
    """One line of the comparison.

    ``weights``: ``"train"`` trains ``config`` itself (reused once ``model_final.pth``
    exists), another ``.yaml`` trains that config and uses its weights, a ``.pth`` is
    used as it is, ``""`` means nothing is learned (connected components). ``needs``:
    configs trained first because ``config`` reads their outputs (the segmenter it wraps).
    """

    name: str
    config: str
    weights: str = "train"
    needs: Tuple[str, ...] = ()


SHAPES = "configs/shapes/"
SISEG_GT = SHAPES + "siseg_label_free.yaml"
SEMSEG = SHAPES + "semseg_fpn_R18_bs8_1000it.yaml"
FLOOR_ROW = "connected components + ground-truth masks"
CEILING_ROW = "perfect heads + ground-truth masks (ceiling)"
EMBEDDED_ROWS: List[Row] = [
    Row("SISeg + ground-truth masks", SISEG_GT),
    Row("SISeg + trained segmenter", SHAPES + "siseg_semseg_fpn_R18.yaml", SISEG_GT, needs=(SEMSEG,)),
    Row("connected components + ground-truth masks", SHAPES + "cc_oracle.yaml", ""),
    Row("perfect heads + ground-truth masks (ceiling)", SHAPES + "ceiling_oracle.yaml", ""),
    Row("connected components + trained segmenter", SHAPES + "cc_semseg_fpn_R18.yaml", "", needs=(SEMSEG,)),
    Row("Mask R-CNN R50-FPN (Detectron2)", SHAPES + "mask_rcnn_R50_FPN_bs8_300it.yaml"),
    Row("Mask R-CNN R18-FPN (Detectron2)", SHAPES + "mask_rcnn_R18_FPN_bs8_300it.yaml"),
]


@dataclass
class RowResult:
    name: str
    config: str
    weights: str
    results: Dict = field(default_factory=dict)  # Detectron2's: segm, bbox, ..., sem_seg, speed
    params_frozen: int = 0
    params_trainable: int = 0
    gflops: float = 0.0
    pictures: List[np.ndarray] = field(default_factory=list)  # predictions on the first val images

    @property
    def miou(self) -> Optional[float]:
        return self.results.get("sem_seg", {}).get("mIoU")

    @property
    def fps(self) -> float:
        return self.results["speed"]["fps"]


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def resolve_weights(row: Row, opts: Sequence[str]) -> str:
    """Train what the row needs (each config once, reused when done); its weights file."""
    for config in row.needs:
        train_if_needed(build_config(config, opts))
    trained = row.config if row.weights == "train" else row.weights
    if trained.endswith(".yaml"):
        return train_if_needed(build_config(trained, opts))
    if row.weights and not os.path.isfile(row.weights):
        raise FileNotFoundError(f"comparison row {row.name!r}: weights file {row.weights} does not exist")
    return row.weights


def evaluate_row(row: Row, output_dir: str, opts: Sequence[str] = (), pictures: int = 0,
                 picture_threshold: float = 0.5) -> RowResult:
    """Train if needed, then evaluate ``row`` on its config's first test split and draw its
    predictions scoring at least ``picture_threshold`` on the first ``pictures`` images."""
    weights = resolve_weights(row, opts)
    cfg = with_options(build_config(row.config, opts), ["OUTPUT_DIR", os.path.join(output_dir, slug(row.name))])
    model = load_model(cfg, weights)
    val = cfg.DATASETS.TEST[0]
    evaluators = [Trainer.build_evaluator(cfg, val)]
    if cfg.MODEL.META_ARCHITECTURE == "SISeg":  # its output carries the segmenter's sem_seg
        evaluators.append(SemSegEvaluator(val, distributed=True, output_dir=cfg.OUTPUT_DIR))
    results = Trainer.test(cfg, ForwardTimer(model), [DatasetEvaluators(evaluators)])
    counts = used_parameter_counts(model)
    return RowResult(row.name, row.config, weights, results, counts["params_frozen"],
                     counts["params_trainable"], network_gflops(model, first_input(cfg, val)),
                     draw_predictions(cfg, model, DatasetCatalog.get(val)[:pictures], picture_threshold))


def compare(rows: Sequence[Row], output_dir: str, opts: Sequence[str] = (), pictures: int = 0,
            picture_threshold: float = 0.5) -> List[RowResult]:
    """Every row, in order, with the same ``KEY VALUE`` overrides applied to each config."""
    names = [row.name for row in rows]
    if len(set(map(slug, names))) != len(names):
        raise ValueError(f"comparison rows need distinct names: {names}")
    outcome = []
    for row in rows:
        logger.info(f"Comparison row {row.name!r}: {row.config}")
        outcome.append(evaluate_row(row, output_dir, opts, pictures, picture_threshold))
    return outcome


def first_input(cfg, dataset_name: str) -> dict:
    """The first val record as the row's own test mapper prepares it."""
    return build_mapper(cfg, is_train=False)(DatasetCatalog.get(dataset_name)[0])


def draw_predictions(cfg, model, records: Sequence[dict], threshold: float) -> List[np.ndarray]:
    """Each record's image with the instances ``model`` predicts on it (at the image's size)
    scoring at least ``threshold``."""
    mapper = build_mapper(cfg, is_train=False)
    metadata = MetadataCatalog.get(cfg.DATASETS.TEST[0])
    drawn = []
    for record in records:
        with torch.no_grad():
            instances = model([mapper(record)])[0]["instances"].to("cpu")
        confident = instances[instances.scores >= threshold]
        drawn.append(draw_instances(read_image(record["file_name"]), confident, metadata))
    return drawn


def uses_heads(model) -> bool:
    """Whether a SISeg model runs its backbone and heads (not for connected components, nor
    for the perfect heads of the ceiling)."""
    return model.postprocess.uses_heads and model.oracle_heads is None


def used_parameter_counts(model) -> Dict[str, int]:
    """Parameters of the networks the row runs: connected components runs only its segmenter."""
    if hasattr(model, "segmenter") and not uses_heads(model):
        return parameter_counts(model.segmenter)
    return parameter_counts(model)


def network_gflops(model, inputs: dict) -> float:
    """fvcore GFLOPs of the networks one image goes through: a SISeg model's segmenter (when
    it has weights) and, unless it groups by connected components, its backbone and heads;
    any other model whole."""
    if not hasattr(model, "segmenter"):
        return flops(model, inputs)
    total = 0.0
    if any(True for _ in model.segmenter.parameters()):
        total += flops(model, inputs, "segmenter")
    if uses_heads(model):
        with torch.no_grad():
            semantic = model.segmenter([inputs])[0].labels
        total += flops(model, dict(inputs, sem_seg=semantic), "heads")
    return total
