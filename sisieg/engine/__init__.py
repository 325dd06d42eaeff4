"""Training and evaluation on top of Detectron2's engine."""
from .semseg_trainer import SemSegTrainer
from .setup import build_config, save_results, setup
from .trainer import Trainer

__all__ = ["SemSegTrainer", "Trainer", "build_config", "save_results", "setup"]
