"""``Trainer``: Detectron2's DefaultTrainer with SISeg's data, optimizer, schedule and evaluation."""
import logging
import os

import torch
from detectron2.data import DatasetCatalog, DatasetMapper, build_detection_test_loader, build_detection_train_loader
from detectron2.engine import DefaultTrainer
from detectron2.evaluation import SemSegEvaluator
from detectron2.solver import LRMultiplier, WarmupParamScheduler
from detectron2.solver.build import get_default_optimizer_params, maybe_add_gradient_clipping
from fvcore.common.param_scheduler import PolynomialDecayParamScheduler

from .. import HAS_COMPILED_OPS
from .timing import ForwardTimer
from ..data.dataset_mapper import SISegDatasetMapper
from ..evaluation import SubsetCOCOEvaluator

logger = logging.getLogger(__name__)


# Meta-architectures fed by SISeg's mapper (image + semantic mask); any other (Mask R-CNN's
# GeneralizedRCNN) gets Detectron2's own DatasetMapper, exactly as in Detectron2's train_net.
SISEG_MAPPER_ARCHITECTURES = ("SISeg", "SemanticSegmentor")


def build_mapper(cfg, is_train: bool):
    """SISeg's dataset mapper for SISeg and its semantic segmenters, Detectron2's otherwise."""
    if cfg.MODEL.META_ARCHITECTURE in SISEG_MAPPER_ARCHITECTURES:
        return SISegDatasetMapper(cfg, is_train=is_train)
    return DatasetMapper(cfg, is_train=is_train)


class Trainer(DefaultTrainer):
    """One trainer for every config here: SISeg, the Detectron2 semantic segmenters trained
    for SISeg to wrap (``SemanticSegmentor``: mIoU by SemSegEvaluator) and the Detectron2
    baselines it is compared with (Mask R-CNN: Detectron2's mapper, the same evaluator)."""

    @classmethod
    def build_train_loader(cls, cfg):
        return build_detection_train_loader(cfg, mapper=build_mapper(cfg, is_train=True))

    @classmethod
    def build_test_loader(cls, cfg, dataset_name):
        return build_detection_test_loader(cfg, dataset_name, mapper=build_mapper(cfg, is_train=False))

    @classmethod
    def build_evaluator(cls, cfg, dataset_name, output_folder=None):
        """COCOEvaluator on masks and boxes, exactly as for Mask R-CNN (the C++ fast path only
        when Detectron2's compiled ops exist), plus the touching subset where it is flagged."""
        output_folder = output_folder or os.path.join(cfg.OUTPUT_DIR, "inference", dataset_name)
        DatasetCatalog.get(dataset_name)  # generated splits write their files on first use
        if cfg.MODEL.META_ARCHITECTURE == "SemanticSegmentor":
            return SemSegEvaluator(dataset_name, distributed=True, output_dir=output_folder)
        return SubsetCOCOEvaluator(
            dataset_name,
            tasks=("segm", "bbox"),
            distributed=True,
            output_dir=output_folder,
            use_fast_impl=HAS_COMPILED_OPS,
        )

    @classmethod
    def test(cls, cfg, model, evaluators=None):
        """Detectron2's evaluation, plus ``speed``: batch-1 seconds per image of everything
        the model does (segmenter, networks, post-processing), per stage, and FPS."""
        timer = model if isinstance(model, ForwardTimer) else ForwardTimer(model)
        results = super().test(cfg, timer, evaluators)
        if not timer.calls:  # nothing to evaluate (DATASETS.TEST empty): no speed to report
            return results
        speed = timer.summary()
        logger.info(
            "Speed: %.4f s / image (%.1f FPS) end to end, batch 1; per stage: %s",
            speed["seconds_per_image"], speed["fps"],
            ", ".join(f"{k[6:]} {v:.4f}" for k, v in speed.items() if k.startswith("stage_")),
        )
        results["speed"] = speed
        return results

    @classmethod
    def build_optimizer(cls, cfg, model):
        """SGD over trainable parameters only (frozen parts have none); the DFM's learning
        rate is ``SOLVER.SISEG.DFM_LR_MULTIPLIER`` x BASE_LR (paper 0.5)."""
        groups = get_default_optimizer_params(
            model,
            base_lr=cfg.SOLVER.BASE_LR,
            weight_decay=cfg.SOLVER.WEIGHT_DECAY,
            weight_decay_norm=cfg.SOLVER.WEIGHT_DECAY_NORM,
        )
        dfm = getattr(unwrap(model), "displacement_head", None)
        dfm_params = set(dfm.parameters()) if dfm is not None else set()
        for group in groups:
            if group["params"][0] in dfm_params:
                group["lr"] = cfg.SOLVER.BASE_LR * cfg.SOLVER.SISEG.DFM_LR_MULTIPLIER
        optimizer = maybe_add_gradient_clipping(cfg, torch.optim.SGD)(
            groups, lr=cfg.SOLVER.BASE_LR, momentum=cfg.SOLVER.MOMENTUM, nesterov=cfg.SOLVER.NESTEROV
        )
        return optimizer

    @classmethod
    def build_lr_scheduler(cls, cfg, optimizer):
        """``SOLVER.LR_SCHEDULER_NAME: WarmupPolyLR`` gives the paper's poly schedule; any
        other name goes to Detectron2."""
        if cfg.SOLVER.LR_SCHEDULER_NAME != "WarmupPolyLR":
            return super().build_lr_scheduler(cfg, optimizer)
        schedule = WarmupParamScheduler(
            PolynomialDecayParamScheduler(1.0, cfg.SOLVER.SISEG.POLY_POWER),
            cfg.SOLVER.WARMUP_FACTOR,
            min(cfg.SOLVER.WARMUP_ITERS / max(cfg.SOLVER.MAX_ITER, 1), 1.0),
            cfg.SOLVER.WARMUP_METHOD,
        )
        return LRMultiplier(optimizer, multiplier=schedule, max_iter=cfg.SOLVER.MAX_ITER)


def unwrap(model):
    """The module inside DistributedDataParallel, or the model itself."""
    return model.module if hasattr(model, "module") else model
