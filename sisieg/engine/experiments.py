"""The experiment runner: rows trained if needed, evaluated alike, written as one report.

A :class:`Row` is a config, where its weights come from, and overrides for its training and
for its evaluation. The main job (``tools/embedded_demo.py``), the named plans
(``tools/sweep.py``, :mod:`sisieg.engine.plans`) and the side-by-side comparison with
Detectron2's Mask R-CNN (``tools/compare.py``) all go through :func:`run_rows` and
:func:`write_report`, so every table of the project is measured the same way: COCOEvaluator
(``Trainer.build_evaluator``, with the touching subset) at batch 1, timed end to end, and,
where asked, the segmenter's mIoU (SemSegEvaluator), the networks' parameters and FLOPs and
pictures of the predictions. Trainings land in the config's ``OUTPUT_DIR`` (rows with
training overrides in ``OUTPUT_DIR/sweep/<overrides>``) and are reused once finished.
"""
import json
import logging
import math
import os
import re
import textwrap
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from detectron2.data import DatasetCatalog, MetadataCatalog
from detectron2.evaluation import DatasetEvaluators, SemSegEvaluator

from ..data.image_io import read_image
from ..errors import InputError
from ..evaluation import results_table
from ..visualization import save_bar_chart, save_grid, save_line_chart
from ..visualization.prediction_panels import draw_annotations, draw_instances
from .benchmark import flops, parameter_counts
from .runs import load_model, train_if_needed, with_options
from .setup import REPOSITORY, build_config
from .timing import ForwardTimer
from .trainer import Trainer, build_mapper

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Row:
    """One line of a report.

    ``config``: the row's config file; "" = the experiment's (a plan of variants of one config).
    ``weights``: "train" trains the config with ``train`` overrides (reused once its
    ``model_final.pth`` exists), another ``.yaml`` trains that config and uses its weights, a
    ``.pth`` is used as it is, "" means nothing is learned (connected components, perfect heads).
    ``evaluate``: overrides of the evaluation only. ``needs``: configs trained first because the
    row reads their outputs (the segmenter it wraps). ``series`` / ``x``: the line of a plan's
    chart this row is a point of, and its abscissa.
    """

    name: str
    config: str = ""
    weights: str = "train"
    train: Tuple[str, ...] = ()
    evaluate: Tuple[str, ...] = ()
    needs: Tuple[str, ...] = ()
    series: str = ""
    x: float = 0.0


@dataclass(frozen=True)
class Measures:
    """What each row measures besides COCO AP and speed."""

    costs: bool = False  # parameters (frozen / trainable), GFLOPs, the segmenter's mIoU
    pictures: int = 0  # predictions drawn on the first val images
    picture_threshold: float = 0.5  # instances scoring at least this are drawn


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
    series: str = ""
    x: float = 0.0
    dataset: str = ""  # the val split it was evaluated on

    @property
    def miou(self) -> Optional[float]:
        return self.results.get("sem_seg", {}).get("mIoU")

    @property
    def fps(self) -> float:
        return self.results["speed"]["fps"]

    @property
    def seconds_per_image(self) -> float:
        return self.results["speed"]["seconds_per_image"]


def slug(text: str) -> str:
    """A folder name for ``text``: lower case, runs of other characters than ``a-z0-9.-`` -> "_"."""
    return re.sub(r"[^a-z0-9.-]+", "_", text.lower()).strip("_")


def overrides_slug(overrides: Sequence[str]) -> str:
    """A folder name for ``KEY VALUE`` overrides, named by the keys' last parts."""
    return slug("_".join(f"{k.split('.')[-1]}-{v}" for k, v in zip(overrides[::2], overrides[1::2])))


def training_config(cfg, overrides: Sequence[str]):
    """``cfg`` with training ``overrides``, trained in ``OUTPUT_DIR`` (no overrides: the config's
    own model, e.g. the main job's) or in ``OUTPUT_DIR/sweep/<overrides>``."""
    folder = os.path.join(cfg.OUTPUT_DIR, "sweep", overrides_slug(overrides)) if overrides else cfg.OUTPUT_DIR
    return with_options(cfg, [*overrides, "OUTPUT_DIR", folder])


def resolve_weights(row: Row, cfg, opts: Sequence[str], retrain: bool) -> str:
    """Train what the row needs (each config once, reused when done); its weights file."""
    for config in row.needs:
        train_if_needed(build_config(config, opts))
    if row.weights == "train":
        return train_if_needed(cfg, retrain)
    if row.weights.endswith(".yaml"):
        return train_if_needed(training_config(build_config(row.weights, opts), row.train), retrain)
    if row.weights and not os.path.isfile(row.weights):
        raise FileNotFoundError(f"row {row.name!r}: weights file {row.weights} does not exist")
    return row.weights


def run_row(row: Row, output_dir: str, config: str = "", opts: Sequence[str] = (), retrain: bool = False,
            measures: Measures = Measures()) -> RowResult:
    """Train if needed, then evaluate ``row`` on its config's first test split."""
    config = row.config or config
    cfg = training_config(build_config(config, opts), row.train)
    weights = resolve_weights(row, cfg, opts, retrain)
    cfg = with_options(cfg, [*row.evaluate, "OUTPUT_DIR", os.path.join(output_dir, slug(row.name))])
    model = load_model(cfg, weights)
    val = cfg.DATASETS.TEST[0]
    evaluators = [Trainer.build_evaluator(cfg, val)]
    if measures.costs and cfg.MODEL.META_ARCHITECTURE == "SISeg":  # its output carries the segmenter's sem_seg
        evaluators.append(SemSegEvaluator(val, distributed=True, output_dir=cfg.OUTPUT_DIR))
    results = Trainer.test(cfg, ForwardTimer(model), [DatasetEvaluators(evaluators)])
    outcome = RowResult(row.name, config, weights, results, series=row.series, x=row.x, dataset=val)
    if measures.costs:
        counts = used_parameter_counts(model)
        outcome.params_frozen, outcome.params_trainable = counts["params_frozen"], counts["params_trainable"]
        outcome.gflops = network_gflops(model, first_input(cfg, val))
    if measures.pictures:
        records = DatasetCatalog.get(val)[: measures.pictures]
        outcome.pictures = draw_predictions(cfg, model, records, measures.picture_threshold)
    return outcome


def select_rows(rows: Sequence[Row], names: Optional[Sequence[str]]) -> List[Row]:
    """The rows called ``names`` (all when None); an unknown name is an error listing the rows."""
    if not names:
        return list(rows)
    unknown = set(names) - {row.name for row in rows}
    if unknown:
        raise InputError(f"no row {sorted(unknown)}; the rows: {[row.name for row in rows]}")
    return [row for row in rows if row.name in names]


def run_rows(rows: Sequence[Row], output_dir: str, config: str = "", opts: Sequence[str] = (),
             retrain: bool = False, measures: Measures = Measures()) -> List[RowResult]:
    """Every row in order, with the same ``KEY VALUE`` overrides applied to each config;
    evaluations go to ``output_dir/<row name>``."""
    names = [row.name for row in rows]
    if len(set(map(slug, names))) != len(names):
        raise ValueError(f"rows need distinct names: {names}")
    outcomes = []
    for row in rows:
        logger.info(f"Row {row.name!r}: {row.config or config}")
        outcomes.append(run_row(row, output_dir, config, opts, retrain, measures))
    return outcomes


# ------------------------------------------------------------------------------------ report
def cost_columns(outcome: RowResult) -> dict:
    """The comparison's extra columns: segmenter mIoU, FPS, parameters, GFLOPs."""
    miou = outcome.miou
    return {
        "segmenter mIoU": "—" if miou is None else f"{miou:.1f}",
        "FPS (batch 1)": f"{outcome.fps:.2f}",
        "params frozen / trainable (M)": f"{outcome.params_frozen / 1e6:.2f} / {outcome.params_trainable / 1e6:.2f}",
        "GFLOPs": f"{outcome.gflops:.1f}",
    }


def speed_column(outcome: RowResult) -> dict:
    return {"s / image (CPU)": f"{outcome.seconds_per_image:.3f}"}


def write_report(outcomes: List[RowResult], base: str, header: str = "", floor: str = None, ceiling: str = None,
                 costs: bool = False, chart_xlabel: str = "", footer: str = "") -> str:
    """Write ``base``.md (``header``, the table with the headroom between ``floor`` and
    ``ceiling``, ``footer``, each row's config and weights), ``base``.json, a chart (``base``.png: AP against ``x`` when rows form series,
    else bars when ``costs``) and ``base``_pictures.png when rows drew pictures; return the table."""
    columns = cost_columns if costs else speed_column
    table = results_table([(o.name, o.results, columns(o)) for o in outcomes], floor, ceiling)
    with open(base + ".md", "w") as f:
        f.write(header + table + footer)
        f.write("\nRows (config, weights):\n\n" + "".join(
            f"- {o.name}: `{shown_path(o.config)}`, `{shown_path(o.weights) or 'nothing learned'}`\n" for o in outcomes))
    with open(base + ".json", "w") as f:
        json.dump({o.name: {"config": o.config, "weights": o.weights, "results": o.results,
                            "params_frozen": o.params_frozen, "params_trainable": o.params_trainable,
                            "gflops": o.gflops} for o in outcomes}, f, indent=2)
    series = series_panels(outcomes)
    if series:
        floor_results = {o.name: o.results for o in outcomes}.get(floor)
        references = floor_results and {p: {floor: floor_results[t]["AP"]} for p, t in PANEL_TASKS}
        save_line_chart(series, chart_xlabel, base + ".png", references)
    elif costs:
        save_bar_chart([o.name for o in outcomes], bar_panels(outcomes), base + ".png")
    if outcomes and outcomes[0].pictures:
        save_pictures(outcomes, base + "_pictures.png")
    return table


def shown_path(path: str) -> str:
    """``path`` relative to the checkout when it lies inside it (tables read the same on
    every machine), else as given."""
    if path and os.path.isabs(path) and os.path.commonpath([path, str(REPOSITORY)]) == str(REPOSITORY):
        return os.path.relpath(path, REPOSITORY)
    return path


PANEL_TASKS = (("AP", "segm"), ("AP touching", "segm_touching"))
AP_METRICS = (("AP", "segm", "AP"), ("AP50", "segm", "AP50"), ("AP75", "segm", "AP75"))


def series_panels(outcomes: List[RowResult]) -> Dict[str, Dict[str, List[Tuple[float, float]]]]:
    """{"AP": {series: [(x, AP)]}, "AP touching": ...} of the rows that belong to a series."""
    panels = {panel: {} for panel, _ in PANEL_TASKS}
    for o in outcomes:
        if o.series:
            for panel, task in PANEL_TASKS:
                panels[panel].setdefault(o.series, []).append((o.x, o.results[task]["AP"]))
    return panels if panels["AP"] else {}


def bar_panels(outcomes: List[RowResult]) -> dict:
    """AP overall, AP on touching instances, FPS: one value per row (NaN where absent)."""
    def value(outcome, task, metric):
        return outcome.results.get(task, {}).get(metric, math.nan)

    return {
        "mask AP, all instances": {n: [value(o, t, m) for o in outcomes] for n, t, m in AP_METRICS},
        "mask AP, touching instances": {n: [value(o, t + "_touching", m) for o in outcomes]
                                        for n, t, m in AP_METRICS},
        "speed (batch 1)": {"FPS": [o.fps for o in outcomes]},
    }


def save_pictures(outcomes: List[RowResult], path: str):
    """One row per val image: the image, its ground truth, then each row's predictions."""
    val = outcomes[0].dataset
    metadata = MetadataCatalog.get(val)
    records = DatasetCatalog.get(val)[: len(outcomes[0].pictures)]
    grid = []
    for i, record in enumerate(records):
        image = read_image(record["file_name"])
        grid.append([image, draw_annotations(image, record, metadata), *(o.pictures[i] for o in outcomes)])
    titles = ["image", "ground truth", *(textwrap.fill(o.name, 24) for o in outcomes)]
    save_grid(grid, titles, path)


# ------------------------------------------------------------------------------------ costs
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
