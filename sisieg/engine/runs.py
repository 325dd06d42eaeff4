"""Train-if-needed and evaluate-a-variant: the steps shared by the main job and sweeps."""
import logging
import os
from typing import Sequence, Tuple

from detectron2.utils.env import seed_all_rng

from .checkpoint import load_weights
from .trainer import Trainer

logger = logging.getLogger(__name__)


def with_options(cfg, opts: Sequence = ()):
    """A frozen copy of ``cfg`` with ``KEY VALUE`` overrides (values parsed as in YACS)."""
    cfg = cfg.clone()
    cfg.defrost()
    cfg.merge_from_list(list(opts))
    cfg.freeze()
    return cfg


def train_if_needed(cfg, retrain: bool = False) -> str:
    """Train (resuming an interrupted run) unless ``OUTPUT_DIR/model_final.pth`` exists;
    return the weights. No evaluation during training: callers evaluate what they need."""
    weights = os.path.join(cfg.OUTPUT_DIR, "model_final.pth")
    if os.path.exists(weights) and not retrain:
        logger.info(f"Reusing {weights}")
        return weights
    seed_all_rng(None if cfg.SEED < 0 else cfg.SEED)  # as Detectron2's default_setup does
    trainer = Trainer(with_options(cfg, ["DATASETS.TEST", "()"]))
    trainer.resume_or_load(resume=not retrain)
    trainer.train()
    return weights


def load_model(cfg, weights: str):
    """The model of ``cfg`` with ``weights`` (strict unless MODEL.SISEG.PARTIAL_WEIGHTS), in
    eval mode."""
    return load_weights(cfg, Trainer.build_model(cfg), weights).eval()


def evaluate(cfg, weights: str) -> Tuple[dict, float]:
    """COCO results on ``cfg.DATASETS.TEST[0]`` (with their ``speed`` block) and seconds per
    image (batch 1, everything the model does)."""
    results = Trainer.test(cfg, load_model(cfg, weights))
    return results, results["speed"]["seconds_per_image"]
