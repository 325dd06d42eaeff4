"""``Trainer``: Detectron2's DefaultTrainer with SISeg's data, optimizer, schedule and evaluation."""
import logging
import os

import torch
from detectron2.data import (
    DatasetCatalog, DatasetMapper, build_detection_test_loader, build_detection_train_loader,
    get_detection_dataset_dicts,
)
from detectron2.data.samplers import RepeatFactorTrainingSampler, TrainingSampler
from detectron2.engine import DefaultTrainer, default_writers
from detectron2.engine.defaults import verify_results
from detectron2.engine.hooks import LRScheduler
from detectron2.evaluation import SemSegEvaluator
from detectron2.utils import comm
from detectron2.utils.events import EventStorage, JSONWriter
from detectron2.solver import LRMultiplier, WarmupParamScheduler
from detectron2.solver.build import get_default_optimizer_params, maybe_add_gradient_clipping
from fvcore.common.param_scheduler import PolynomialDecayParamScheduler
from fvcore.nn.precise_bn import get_bn_modules, update_bn_stats

from .. import HAS_COMPILED_OPS
from ..errors import InputError
from ..errors import check_choice
from .checkpoint import Checkpointer
from .resumption import SkipSampler, trim_metrics
from .time_budget import fit_to_time_budget, refit_hook
from .timing import ForwardTimer
from .weight_average import WeightAverage
from ..data.dataset_mapper import SISegDatasetMapper
from ..data.skipped_images import (
    FailSafeMapper, SkippingMapDataset, evaluation_report_path, log_skips, report_path,
)
from ..evaluation import SubsetCOCOEvaluator

logger = logging.getLogger(__name__)
OPTIMIZERS = ("SGD", "AdamW")


# Meta-architectures fed by SISeg's mapper (image + semantic mask); any other (Mask R-CNN's
# GeneralizedRCNN) gets Detectron2's own DatasetMapper, exactly as in Detectron2's train_net.
SISEG_MAPPER_ARCHITECTURES = ("SISeg", "SemanticSegmentor")


def build_train_sampler(cfg, dataset, seed: int = None):
    """Detectron2's training sampler of ``DATALOADER.SAMPLER_TRAIN``; ``seed`` None draws it
    as Detectron2 does (from the seeded global RNG)."""
    name = cfg.DATALOADER.SAMPLER_TRAIN
    if name == "TrainingSampler":
        return TrainingSampler(len(dataset), seed=seed)
    if name == "RepeatFactorTrainingSampler":
        factors = RepeatFactorTrainingSampler.repeat_factors_from_category_frequency(
            dataset, cfg.DATALOADER.REPEAT_THRESHOLD
        )
        return RepeatFactorTrainingSampler(factors, seed=seed)
    raise InputError(f"DATALOADER.SAMPLER_TRAIN {name!r}: use TrainingSampler or RepeatFactorTrainingSampler")


def build_mapper(cfg, is_train: bool):
    """SISeg's dataset mapper for SISeg and its semantic segmenters, Detectron2's otherwise."""
    if cfg.MODEL.META_ARCHITECTURE in SISEG_MAPPER_ARCHITECTURES:
        return SISegDatasetMapper(cfg, is_train=is_train)
    return DatasetMapper(cfg, is_train=is_train)


class Trainer(DefaultTrainer):
    """One trainer for every config here: SISeg, the Detectron2 semantic segmenters trained
    for SISeg to wrap (``SemanticSegmentor``: mIoU by SemSegEvaluator) and the Detectron2
    baselines it is compared with (Mask R-CNN: Detectron2's mapper, the same evaluator).

    Beyond Detectron2's: a training budget in minutes (``SOLVER.SISEG.TRAIN_MINUTES``);
    checkpoints are written atomically; ``--resume`` after a kill continues the data order and
    cuts ``metrics.json`` back to the resumed iteration; a NaN / Inf loss stops training with
    the iteration and the last checkpoint; images skipped as unreadable
    (``INPUT.SISEG.SKIP_UNREADABLE_IMAGES``) are listed at the end.
    """

    metrics_writer = None  # the metrics.json writer, set by build_writers (main process only)

    def __init__(self, cfg):
        """Detectron2's trainer of ``cfg``, whose ``SOLVER.MAX_ITER`` ``SOLVER.SISEG.TRAIN_MINUTES``
        may first lower to what fits on this machine, and fit again once the training's own
        pace is known (sisieg/engine/time_budget.py)."""
        fitted = fit_to_time_budget(cfg, type(self))
        self.budget_refit = refit_hook(cfg)  # from its record; before Detectron2's __init__ builds the hooks
        super().__init__(fitted)

    @classmethod
    def build_train_loader(cls, cfg, skip: int = 0, seed: int = None):
        """Detectron2's training loader. ``skip``: samples (per process) already consumed by
        the run being resumed; ``seed``: its sampler's seed (None: drawn as Detectron2 does)."""
        dataset = get_detection_dataset_dicts(
            cfg.DATASETS.TRAIN, filter_empty=cfg.DATALOADER.FILTER_EMPTY_ANNOTATIONS
        )
        sampler = build_train_sampler(cfg, dataset, seed)
        loader = build_detection_train_loader(
            dataset=SkippingMapDataset(dataset, build_mapper(cfg, is_train=True)),
            mapper=None,
            sampler=SkipSampler(sampler, skip) if skip else sampler,
            total_batch_size=cfg.SOLVER.IMS_PER_BATCH,
            aspect_ratio_grouping=cfg.DATALOADER.ASPECT_RATIO_GROUPING,
            num_workers=cfg.DATALOADER.NUM_WORKERS,
        )
        loader.sampler_seed = getattr(sampler, "_seed", None)  # to resume the same order
        return loader

    @classmethod
    def build_test_loader(cls, cfg, dataset_name):
        dataset = DatasetCatalog.get(dataset_name)
        if cfg.MODEL.META_ARCHITECTURE == "SISeg" and cfg.MODEL.SISEG.ORACLE_HEADS:
            check_instance_annotations(dataset, dataset_name)
        mapper = build_mapper(cfg, is_train=False)
        if cfg.MODEL.META_ARCHITECTURE in SISEG_MAPPER_ARCHITECTURES:  # a bad image is a miss, not a stop
            mapper = FailSafeMapper(mapper, evaluation_report_path(cfg.OUTPUT_DIR))
        return build_detection_test_loader(dataset=dataset, mapper=mapper)

    def build_hooks(self):
        previous = self.checkpointer  # Detectron2's, built just before the hooks that save with it
        self.checkpointer = Checkpointer(previous.model, previous.save_dir, **previous.checkpointables)
        hooks = super().build_hooks()
        if self.cfg.SOLVER.SISEG.WEIGHT_AVERAGE_DECAY > 0:
            average = WeightAverage(unwrap(self.model), self.cfg.SOLVER.SISEG.WEIGHT_AVERAGE_DECAY)
            self.checkpointer.checkpointables["weight_average"] = average  # --resume continues it
            # right after the learning-rate step: before PreciseBN (which then recomputes the
            # average's statistics), the checkpointer that saves model_final, and the evaluation
            after = next(i for i, hook in enumerate(hooks) if isinstance(hook, LRScheduler))
            hooks.insert(after + 1, average)
        if self.budget_refit is not None:  # first: every later hook sees the schedule's new end
            hooks.insert(0, self.budget_refit)
        return hooks

    def build_writers(self):
        writers = []
        for writer in default_writers(self.cfg.OUTPUT_DIR, self.max_iter):
            if isinstance(writer, JSONWriter):  # the same file, through a writer that can trim it
                writer.close()
                writer = ResumableJSONWriter(os.path.join(self.cfg.OUTPUT_DIR, "metrics.json"))
                self.metrics_writer = writer
            writers.append(writer)
        return writers

    def resume_or_load(self, resume: bool = True):
        if resume:
            self.checkpointer.remove_leftovers()
        super().resume_or_load(resume)
        if self.start_iter > 0:  # resumed: same data order, metrics from this iteration on
            skip = self.start_iter * self.cfg.SOLVER.IMS_PER_BATCH // comm.get_world_size()
            seed = getattr(self._trainer.data_loader, "sampler_seed", None)
            loader = self.build_train_loader(self.cfg, skip=skip, seed=seed)
            self._trainer.data_loader, self._trainer._data_loader_iter = loader, iter(loader)
            if self.metrics_writer is not None:  # only the main process writes metrics
                self.metrics_writer.trim(self.start_iter)
            logger.info(f"Resumed at iteration {self.start_iter}: data order continues after "
                        f"{skip} samples (sampler seed {seed})")

    def train(self):
        try:
            results = self.train_loop()
        except FloatingPointError as e:
            last = self.checkpointer.get_checkpoint_file() or "none yet (no checkpoint was saved)"
            raise FloatingPointError(
                f"Training stopped at iteration {self.iter}: {e}\nLast checkpoint: {last}. Resume "
                f"from it with --resume, e.g. with a lower SOLVER.BASE_LR or with "
                f"SOLVER.CLIP_GRADIENTS.ENABLED True."
            ) from e
        finally:
            log_skips(report_path(self.cfg.OUTPUT_DIR))
        return results

    def train_loop(self):
        """DefaultTrainer.train, with a loop that reads ``self.max_iter`` at every step instead
        of a range fixed at the start, so that the time budget's re-fit can move the end."""
        logger.info(f"Starting training from iteration {self.start_iter}")
        self.iter = self.start_iter
        with EventStorage(self.start_iter) as self.storage:
            try:
                self.before_train()
                while self.iter < self.max_iter:
                    self.before_step()
                    self.run_step()
                    self.after_step()
                    self.iter += 1  # == max_iter at the end, as Detectron2's after_train hooks expect
            except Exception:
                logger.exception("Exception during training:")
                raise
            finally:
                self.after_train()
        if len(self.cfg.TEST.EXPECTED_RESULTS) and comm.is_main_process():  # as DefaultTrainer.train
            assert hasattr(self, "_last_eval_results"), "No evaluation results obtained during training!"
            verify_results(self.cfg, self._last_eval_results)
            return self._last_eval_results
        return None

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
        failed = evaluation_report_path(cfg.OUTPUT_DIR)
        if comm.is_main_process() and os.path.exists(failed):
            os.remove(failed)  # the list belongs to one evaluation
        results = super().test(cfg, timer, evaluators)
        if not timer.calls:  # nothing to evaluate (DATASETS.TEST empty): no speed to report
            return results
        log_skips(failed)
        speed = timer.summary()
        logger.info(
            "Speed: %.4f s / image (%.1f FPS) end to end, batch 1; per stage: %s",
            speed["seconds_per_image"], speed["fps"],
            ", ".join(f"{k[6:]} {v:.4f}" for k, v in speed.items() if k.startswith("stage_")),
        )
        results["speed"] = speed
        return results

    @classmethod
    def recompute_bn_statistics(cls, cfg, model):
        """Batch-norm running statistics recomputed from ``TEST.PRECISE_BN.NUM_ITER`` batches of
        the training loader (Detectron2's PreciseBN hook does it at the end of training when
        ``TEST.PRECISE_BN.ENABLED``; this is the same for ``--eval-only``). A checkpoint from the
        middle of training carries running means that lag its weights: the main job's
        800-iteration one scores 64.7 AP as saved and 77.9 with recomputed statistics."""
        norms = get_bn_modules(model)
        if not norms:
            logger.info("TEST.PRECISE_BN: the model has no batch norm to recompute")
            return
        logger.info(f"TEST.PRECISE_BN: recomputing the statistics of {len(norms)} batch norms from "
                    f"{cfg.TEST.PRECISE_BN.NUM_ITER} training batches")
        # The training forward also moves other state (SISeg's measured displacement bias): kept.
        own = {id(b) for norm in norms for b in norm.buffers()}
        kept = {name: b.clone() for name, b in model.named_buffers() if id(b) not in own}
        was_training = model.training
        model.train()
        update_bn_stats(model, iter(cls.build_train_loader(cfg)), cfg.TEST.PRECISE_BN.NUM_ITER, progress="precise BN")
        model.train(was_training)
        for name, value in kept.items():
            model.get_buffer(name).copy_(value)

    @classmethod
    def build_optimizer(cls, cfg, model):
        """SGD (the paper) or AdamW (``SOLVER.SISEG.OPTIMIZER``) over trainable parameters only
        (frozen parts have none); the DFM's learning rate is ``SOLVER.SISEG.DFM_LR_MULTIPLIER``
        x BASE_LR (paper 0.5). Weight decay: ``SOLVER.WEIGHT_DECAY`` in both."""
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
        name = check_choice("SOLVER.SISEG.OPTIMIZER", cfg.SOLVER.SISEG.OPTIMIZER, OPTIMIZERS)
        if name == "AdamW":
            return maybe_add_gradient_clipping(cfg, torch.optim.AdamW)(groups, lr=cfg.SOLVER.BASE_LR)
        return maybe_add_gradient_clipping(cfg, torch.optim.SGD)(
            groups, lr=cfg.SOLVER.BASE_LR, momentum=cfg.SOLVER.MOMENTUM, nesterov=cfg.SOLVER.NESTEROV
        )

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


class ResumableJSONWriter(JSONWriter):
    """Detectron2's ``metrics.json`` writer, which a resumed run can cut back (see resumption)."""

    def __init__(self, path: str, window_size: int = 20):
        super().__init__(path, window_size)
        self.path = path

    def trim(self, start_iter: int):
        self._file_handle.close()
        trim_metrics(self.path, start_iter)
        self._file_handle = open(self.path, "a")


def check_instance_annotations(dataset, dataset_name: str):
    """The perfect heads need the test images' instance annotations: an error when some
    records have none, or when no image has a single one (a semantic-only split)."""
    missing = [record["file_name"] for record in dataset if "annotations" not in record]
    if missing or not any(record["annotations"] for record in dataset):
        example = (missing or [r["file_name"] for r in dataset] or ["-"])[0]
        raise InputError(
            f"MODEL.SISEG.ORACLE_HEADS needs instance annotations, but "
            f"{len(missing) or len(dataset)} of the {len(dataset)} images of {dataset_name} have "
            f"none (e.g. {example}): evaluate the ceiling on a dataset with instances (COCO json, "
            f"VOC / ADE20K instance splits, shapes)"
        )


def unwrap(model):
    """The module inside DistributedDataParallel, or the model itself."""
    return model.module if hasattr(model, "module") else model
