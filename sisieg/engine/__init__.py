"""Training and evaluation on top of Detectron2's engine."""
from .setup import build_config, log_to, save_results, setup
from .trainer import Trainer

__all__ = ["Trainer", "build_config", "log_to", "save_results", "setup"]
