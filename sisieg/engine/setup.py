"""Config set-up and results files shared by tools/train_net.py and the other tools."""
import json
import logging
import os
from pathlib import Path

import torch
from detectron2.config import get_cfg
from detectron2.engine import default_setup
from detectron2.utils import comm
from detectron2.utils.logger import setup_logger

from ..config import add_sisieg_config
from ..errors import ConfigError
from .config_node import ConfigNode
from ..data.datasets import register_coco_format_entries

logger = logging.getLogger(__name__)

# The checkout sisieg runs from (an editable install): configs/ and projects/ live there, so
# library code names them from here, never from the working directory.
REPOSITORY = Path(__file__).resolve().parents[2]


def build_config(config_file: str = "", opts=()):
    """A frozen config: Detectron2 defaults + SISeg keys + the file + ``KEY VALUE`` overrides.

    ``MODEL.DEVICE cuda`` on a machine without CUDA falls back to the CPU with a warning
    instead of crashing deep inside the first forward pass. The COCO-format datasets of
    ``DATASETS.SISEG_COCO`` are registered (idempotently); an empty ``DATASETS.TRAIN`` /
    ``TEST`` then defaults to the first / last of them. A ``_BASE_`` may name a config
    of Detectron2's model zoo (``model-zoo:COCO-InstanceSegmentation/...``).
    """
    cfg = get_cfg()
    add_sisieg_config(cfg)
    cfg = ConfigNode(cfg)  # every node, SISeg's too: merging checks node types
    if config_file and not os.path.isfile(config_file):
        raise ConfigError(f"config file {config_file} does not exist")
    try:
        if config_file:
            cfg.merge_from_file(config_file)
        cfg.merge_from_list(list(opts))
    except (KeyError, ValueError, AssertionError) as e:  # yacs: unknown key, wrong type
        message = e.args[0] if e.args else str(e)
        raise ConfigError(f"{config_file or 'config'}: {message}") from e
    names = register_coco_format_entries(cfg.DATASETS.SISEG_COCO)
    if names and not cfg.DATASETS.TRAIN:  # derived: the first entry trains ...
        cfg.DATASETS.TRAIN = (names[0],)
    if len(names) > 1 and not cfg.DATASETS.TEST:  # ... and the last one is evaluated
        cfg.DATASETS.TEST = (names[-1],)
    if cfg.MODEL.DEVICE.startswith("cuda") and not torch.cuda.is_available():
        logger.warning("MODEL.DEVICE=%s but CUDA is not available: using the CPU", cfg.MODEL.DEVICE)
        cfg.MODEL.DEVICE = "cpu"
    cfg.freeze()
    return cfg


def setup(args):
    """``build_config`` from parsed ``default_argument_parser()`` args + Detectron2's
    ``default_setup`` (output folder, config.yaml, log.txt, environment info, seed), with
    sisieg's log lines in the same console and log.txt."""
    cfg = build_config(args.config_file, args.opts)
    default_setup(cfg, args)
    setup_logger(cfg.OUTPUT_DIR, distributed_rank=comm.get_rank(), name="sisieg")  # ours too
    return cfg


def save_results(results: dict, output_dir: str) -> str:
    """Write evaluation results to ``<output_dir>/inference/eval_results.json`` (main process)."""
    path = os.path.join(output_dir, "inference", "eval_results.json")
    if comm.is_main_process():
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            json.dump(results, f, indent=2)
        logger.info(f"Evaluation results written to {path}")
    return path


def log_to(path: str) -> logging.Logger:
    """Send sisieg's and Detectron2's logs to the console and to ``path`` (the tools that do
    not go through ``default_setup``); returns sisieg's logger."""
    setup_logger(path, name="detectron2")
    return setup_logger(path, name="sisieg")
