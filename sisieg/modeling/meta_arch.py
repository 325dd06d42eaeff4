"""``SISeg``: a frozen semantic segmenter + DFM and CBR heads on a shared backbone."""
from typing import Dict, List, Sequence

import torch
from detectron2.config import configurable
from detectron2.layers import ShapeSpec
from detectron2.modeling import META_ARCH_REGISTRY, Backbone, build_backbone
from detectron2.structures import Boxes, ImageList, Instances
from torch import nn

from ..config import thing_semantic_ids
from ..data.image_io import check_input_pixels
from ..data.skipped_images import FAILED
from ..errors import ConfigError, InputError, check_choice
from .field_augmentation import averaged_heads, check_count
from .heads import build_cbr_head, build_center_head, build_dfm_head
from .input_encoding import InputEncoder
from .postprocessing import InstanceInference
from .heads.layers import resize_to
from .labels import downsample_batch, pool_field, resize_labels, thing_lookup
from .losses import boundary_loss, displacement_losses, offset_loss
from .oracle_heads import OracleHeads
from .precision import TRAIN_PRECISIONS, training_autocast
from .targets import head_targets
from .pair_sampling import PairSampler
from .segmenters import FrozenSegmenter, build_segmenter
from .segmenters.base import check_finite

TRAIN_MASK_SOURCES = ("ground_truth", "segmenter")
SUPERVISIONS = ("semantic", "instance", "mixed", "label_free")
PAIR_IGNORE = -1  # ignore label of the pair-label maps (instance ids may exceed 255)


@META_ARCH_REGISTRY.register()
class SISeg(nn.Module):
    """Instances from a semantic segmentation (paper: SISeg, an advanced IRNet).

    Training: the heads learn from pixel pairs of the ground-truth semantic mask (DFM:
    Eq. 9-10, CBR: Eq. 16); the backbone may stay frozen. Inference: the segmenter's mask
    goes through the heads and ``InstanceInference``; results are Detectron2 ``Instances``.
    """

    @configurable
    def __init__(
        self,
        *,
        backbone: Backbone,
        segmenter: FrozenSegmenter,
        input_encoder: InputEncoder,
        displacement_head: nn.Module,
        boundary_head: nn.Module,
        in_features: Sequence[str],
        postprocess: InstanceInference,
        thing_semantic_ids: Sequence[int],
        num_semantic_classes: int,
        ignore_value: int = 255,
        freeze_backbone: bool = True,
        train_mask_source: str = "ground_truth",
        supervision: str = "semantic",
        train_pair_radius: int = 10,
        loss_weights: Dict[str, float] = None,
        bias_momentum: float = 0.99,
        offset_weighting: Dict[str, float] = None,
        field_augmentations: int = 1,
        network_only: bool = False,
        max_input_pixels: int = 0,
        oracle_heads: OracleHeads = None,
        train_precision: str = "float32",
        center_head: nn.Module = None,
    ):
        """
        Args:
            backbone: feature extractor; its input has ``input_encoder.in_channels`` channels.
            segmenter: the frozen semantic segmenter (``"oracle"``: ground-truth masks).
            input_encoder: builds the backbone input from image and/or mask.
            displacement_head, boundary_head: the DFM and CBR heads (sisieg/modeling/heads); the
                boundary map is resized to the displacement head's grid (its ``stride``).
            in_features: backbone levels fed to both heads.
            postprocess: inference hyper-parameters and steps.
            thing_semantic_ids: semantic ids of the thing classes, in thing-class order.
            num_semantic_classes: classes of the semantic mask, background included.
            ignore_value: semantic label of unlabelled pixels.
            freeze_backbone: no gradients for the backbone and keep it in eval mode.
            train_mask_source: mask fed to the backbone in training: "ground_truth" or
                "segmenter" (pair labels always come from the ground truth).
            supervision: where the pair labels come from: "semantic" (the paper: same class
                = same instance), "instance" (instance ids on every image: same instance;
                plus an L1 loss to true centroid offsets), "mixed" (instance ids where the
                image has them: the mapper gives the images outside the labelled fraction
                label-free ids; a record without ids falls back to the class mask), "label_free" (instance ids the mapper
                derives from the semantic masks alone: isolated objects and pasted composites,
                sisieg.data.composites; unknown pixels ignored).
            train_pair_radius: half-disk radius of training pairs (feature pixels).
            loss_weights: weights of "loss_dfm_fg", "loss_dfm_bg", "loss_cbr", "loss_dfm_offset".
            bias_momentum: EMA momentum of the mean displacement, the field's free constant.
            offset_weighting: keyword arguments of ``offset_loss`` that weigh its pixels
                (``area_power``, ``contact_weight``, ``contact_radius``); none: a plain mean.
            field_augmentations: test-time symmetries of the input whose heads are averaged
                (1 none, 2 / 4 / 8 flips and transposes; sisieg/modeling/field_augmentation.py).
            network_only: inference stops after the networks and returns no instances: for
                timing the networks alone (``TEST.SISEG.NETWORK_ONLY_SPEED``), never for AP.
            max_input_pixels: an inference input (after the test resize) with more pixels is
                an error naming it and the limit, not an out-of-memory crash; 0 = no limit.
            oracle_heads: at inference, the heads' outputs are replaced by the targets of the
                ground-truth instances (``MODEL.SISEG.ORACLE_HEADS``): the ceiling of the
                post-processing. None: the heads predict.
            train_precision: "float32"; "bfloat16": the training forward (and so backward) of
                backbone and heads under bfloat16 autocast, targets and losses in float32;
                "auto": bfloat16 where the device has it natively (sisieg/modeling/precision.py).
            center_head: an optional centre heatmap head (sisieg/modeling/heads/center_heatmap.py),
                trained by ``loss_center`` on instance ids; at inference the votes grouping's
                centres are its peaks. None: the modes of the votes.
        """
        super().__init__()
        if train_mask_source not in TRAIN_MASK_SOURCES:
            raise ConfigError(
                f"MODEL.SISEG.TRAIN_MASK_SOURCE must be one of {TRAIN_MASK_SOURCES}, "
                f"got {train_mask_source!r}"
            )
        self.backbone = backbone
        self.segmenter = segmenter
        self.input_encoder = input_encoder
        self.displacement_head = displacement_head
        self.boundary_head = boundary_head
        self.center_head = center_head
        self.in_features = list(in_features)
        self.postprocess = postprocess
        self.ignore_value = ignore_value
        self.freeze_backbone = freeze_backbone
        self.train_mask_source = train_mask_source
        if supervision not in SUPERVISIONS:
            raise ConfigError(f"MODEL.SISEG.SUPERVISION must be one of {SUPERVISIONS}, got {supervision!r}")
        self.supervision = supervision
        self.pair_sampler = PairSampler(train_pair_radius)
        self.loss_weights = dict(loss_weights or {})
        self._check_something_trains()
        self.bias_momentum = bias_momentum
        self.offset_weighting = dict(offset_weighting or {})
        self.field_augmentations = check_count(field_augmentations)
        self.network_only = network_only
        self.max_input_pixels = max_input_pixels
        self.oracle_heads = oracle_heads
        self.train_precision = check_choice("MODEL.SISEG.TRAIN_PRECISION", train_precision, TRAIN_PRECISIONS)
        self.head_stride = displacement_head.stride
        shapes = backbone.output_shape()
        self.size_divisibility = max(shapes[f].stride for f in self.in_features)
        self.register_buffer(
            "thing_lut", thing_lookup(thing_semantic_ids, num_semantic_classes, ignore_value), False
        )
        self.register_buffer("thing_semantic_ids", torch.tensor(list(thing_semantic_ids)), False)
        # The losses see displacement differences only; the field's constant offset is
        # measured during training (EMA of its mean over thing pixels) and removed at
        # inference, like IRNet's mean shift. Saved with the checkpoint.
        self.register_buffer("displacement_bias", torch.zeros(2))
        self.register_buffer("bias_initialized", torch.zeros((), dtype=torch.bool))
        if freeze_backbone:
            self.backbone.requires_grad_(False)

    @classmethod
    def from_config(cls, cfg):
        s = cfg.MODEL.SISEG
        encoder = InputEncoder(
            s.INPUT_MODE, s.MASK_ENCODING, s.NUM_SEMANTIC_CLASSES, s.IGNORE_VALUE,
            cfg.MODEL.PIXEL_MEAN, cfg.MODEL.PIXEL_STD, s.MASK_DISTANCE_CAP, s.IMAGE_DROPOUT,
        )
        backbone = build_backbone(cfg, ShapeSpec(channels=encoder.in_channels))
        shapes = backbone.output_shape()
        missing = [f for f in s.IN_FEATURES if f not in shapes]
        if missing:
            raise ConfigError(
                f"MODEL.SISEG.IN_FEATURES {missing} are not backbone outputs {sorted(shapes)}: "
                f"add them to MODEL.RESNETS.OUT_FEATURES"
            )
        thing_ids = thing_semantic_ids(cfg)
        if len(thing_ids) != s.NUM_CLASSES:
            raise ConfigError(
                f"MODEL.SISEG.THING_SEMANTIC_IDS has {len(thing_ids)} ids, NUM_CLASSES is {s.NUM_CLASSES}"
            )
        if s.TRAIN_MASK_SOURCE == "segmenter" and cfg.INPUT.SISEG.MASK_CORRUPTION.OPS:
            raise ConfigError(
                "MODEL.SISEG.TRAIN_MASK_SOURCE 'segmenter' shows the segmenter's masks, so "
                "INPUT.SISEG.MASK_CORRUPTION.OPS would be unused: choose one"
            )
        return {
            "backbone": backbone,
            "segmenter": build_segmenter(cfg),
            "input_encoder": encoder,
            "displacement_head": build_dfm_head(cfg, shapes, encoder.in_channels),
            "boundary_head": build_cbr_head(cfg, shapes, encoder.in_channels),
            "in_features": s.IN_FEATURES,
            "postprocess": InstanceInference.from_config(cfg),
            "thing_semantic_ids": thing_ids,
            "num_semantic_classes": s.NUM_SEMANTIC_CLASSES,
            "ignore_value": s.IGNORE_VALUE,
            "freeze_backbone": s.FREEZE_BACKBONE,
            "train_mask_source": s.TRAIN_MASK_SOURCE,
            "train_precision": s.TRAIN_PRECISION,
            "train_pair_radius": s.PAIRS.TRAIN_RADIUS,
            "supervision": s.SUPERVISION,
            "loss_weights": {
                "loss_dfm_offset": s.DFM.LOSS_OFFSET_WEIGHT,
                "loss_dfm_fg": s.DFM.LOSS_FG_WEIGHT,
                "loss_dfm_bg": s.DFM.LOSS_BG_WEIGHT,
                "loss_cbr": s.CBR.LOSS_WEIGHT,
                "loss_center": s.CENTER.LOSS_WEIGHT,
            },
            "bias_momentum": s.DFM.BIAS_MOMENTUM,
            "offset_weighting": {
                "area_power": s.DFM.OFFSET_AREA_POWER,
                "contact_weight": s.DFM.OFFSET_CONTACT_WEIGHT,
                "contact_radius": s.DFM.OFFSET_CONTACT_RADIUS,
            },
            "field_augmentations": s.INFERENCE.FIELD_AUGMENTATIONS,
            "network_only": cfg.TEST.SISEG.NETWORK_ONLY_SPEED,
            "max_input_pixels": s.INFERENCE.MAX_INPUT_PIXELS,
            "oracle_heads": OracleHeads.from_config(cfg) if s.ORACLE_HEADS else None,
            "center_head": _center_head(cfg, shapes, encoder.in_channels),
        }

    @property
    def device(self) -> torch.device:
        return self.displacement_bias.device

    def train(self, mode: bool = True):
        """Frozen parts stay in eval mode (batch-norm statistics untouched)."""
        super().train(mode)
        if self.freeze_backbone:
            self.backbone.train(False)
        self.segmenter.train(False)
        return self

    def forward(self, batched_inputs: List[dict]):
        """Training: a dict of losses. Inference: ``[{"instances", "sem_seg"}]`` per image."""
        if self.training:
            return self.losses(batched_inputs)
        return self.inference(batched_inputs)

    # ---------------------------------------------------------------- shared pieces
    def _batch(self, tensors: List[torch.Tensor], pad_value: float) -> torch.Tensor:
        return ImageList.from_tensors(
            [t.to(self.device) for t in tensors], self.size_divisibility, pad_value
        ).tensor

    def _heads(self, batched_inputs: List[dict], semantic: List[torch.Tensor]):
        """Backbone + DFM + CBR (+ centre head) on the padded batch: displacement (N, 2, H/s, W/s),
        boundary logits (N, 1, H/t, W/t), centre logits (N, 1, H/c, W/c) or None, each at its head's
        stride."""
        return self._network(*self._padded_inputs(batched_inputs, semantic))

    def _padded_inputs(self, batched_inputs: List[dict], semantic: List[torch.Tensor]):
        """(images (N, 3, H, W) float or None when the input encoder does not read them, masks
        (N, H, W) long), padded to the backbone's size divisibility."""
        images = None
        if self.input_encoder.uses_image:
            images = self._batch([x["image"].float() for x in batched_inputs], 0.0)
        return images, self._batch(semantic, self.ignore_value).long()

    def _network(self, images: torch.Tensor, labels: torch.Tensor):
        x = self.input_encoder(images, labels)
        with torch.set_grad_enabled(self.training and not self.freeze_backbone):
            features = self.backbone(x)
        features = {f: features[f] for f in self.in_features}
        center = None if self.center_head is None else self.center_head(features, x)
        return self.displacement_head(features, x), self.boundary_head(features, x), center

    # ---------------------------------------------------------------- training
    def losses(self, batched_inputs: List[dict]) -> Dict[str, torch.Tensor]:
        for x in batched_inputs:
            if "sem_seg" not in x:
                raise InputError(
                    f"SISeg training needs ground-truth semantic masks; {x.get('file_name')} has none"
                )
        truth = [x["sem_seg"] for x in batched_inputs]
        shown = [x.get("input_sem_seg", x["sem_seg"]) for x in batched_inputs]  # corrupted, if so configured
        if self.train_mask_source == "segmenter":
            with torch.no_grad():
                shown = [p.labels for p in self.segmenter(batched_inputs)]
        with training_autocast(self.train_precision, self.device):
            displacement, boundary_logits, center_logits = self._heads(batched_inputs, shown)
        displacement, boundary_logits = displacement.float(), boundary_logits.float()
        labels = self.thing_lut[self._batch(truth, self.ignore_value).long()]
        use_instances = self._instance_images(batched_inputs)
        ids = self._instance_ids(batched_inputs, labels, use_instances)
        # Pair losses on the boundary head's grid (IRNet's stride 4): pairs of radius 10 cost
        # offsets x pixels, far too much at full resolution; a finer field is averaged there.
        pair_stride = self.boundary_head.stride
        pair_size = boundary_logits.shape[-2:]
        pairs = self._pair_labels(
            downsample_batch(labels, pair_size, pair_stride), downsample_batch(ids, pair_size, pair_stride), use_instances
        )
        losses = {}
        if self._weighted("loss_dfm_fg", "loss_dfm_bg"):  # a loss weighted 0 costs nothing
            coarse = pool_field(displacement, self.head_stride, pair_stride)
            losses.update(displacement_losses(coarse, pairs, self.pair_sampler, PAIR_IGNORE))
        if self._weighted("loss_cbr"):
            losses["loss_cbr"] = boundary_loss(boundary_logits, pairs, self.pair_sampler, PAIR_IGNORE)
        if self.supervision != "semantic" and self._weighted("loss_dfm_offset"):
            targets = head_targets(ids.clamp(min=0), displacement.shape[-2:], self.head_stride)
            losses["loss_dfm_offset"] = offset_loss(displacement, targets, **self.offset_weighting)
        if self.center_head is not None and self._weighted("loss_center"):
            known = torch.where(use_instances[:, None, None], ids, PAIR_IGNORE)  # images without ids: unknown
            losses["loss_center"] = self.center_head.losses(center_logits.float(), known)
        self._update_bias(displacement.detach(), downsample_batch(labels, displacement.shape[-2:], self.head_stride))
        return {k: v * self.loss_weights.get(k, 1.0) for k, v in losses.items()}

    def _check_something_trains(self):
        """A supervision whose every loss is weighted 0 would train nothing: say so up front."""
        names = ["loss_dfm_fg", "loss_dfm_bg", "loss_cbr"]
        if self.supervision != "semantic":
            names.append("loss_dfm_offset")
        if not self._weighted(*names):
            keys = "MODEL.SISEG.DFM.LOSS_FG_WEIGHT / LOSS_BG_WEIGHT, MODEL.SISEG.CBR.LOSS_WEIGHT"
            if self.supervision != "semantic":
                keys += ", MODEL.SISEG.DFM.LOSS_OFFSET_WEIGHT"
            raise ConfigError(
                f"MODEL.SISEG.SUPERVISION {self.supervision!r} trains by {keys}, all 0: nothing would "
                f"learn (the semantic supervision has no offset loss: set the pair-loss weights)"
            )

    def _weighted(self, *names: str) -> bool:
        """Whether any of these losses has a non-zero weight."""
        return any(self.loss_weights.get(name, 1.0) != 0 for name in names)

    def _instance_images(self, batched_inputs: List[dict]) -> torch.Tensor:
        """(N,) bool: which images are supervised by their instance ids."""
        has = torch.tensor(["instance_ids" in x for x in batched_inputs], device=self.device)
        if self.supervision == "semantic":
            return torch.zeros_like(has)
        if self.supervision in ("instance", "label_free") and not has.all():
            missing = [x.get("file_name") for x in batched_inputs if "instance_ids" not in x]
            raise InputError(
                f"MODEL.SISEG.SUPERVISION {self.supervision!r} needs instance ids on every training "
                f"image; none for {missing[:3]}: use 'mixed', a dataset with instances, or (label_free) "
                f"semantic masks"
            )
        return has

    def _instance_ids(self, batched_inputs: List[dict], things: torch.Tensor, use: torch.Tensor):
        """(N, H, W) instance ids of the padded batch for the images ``use`` (N,) marks: 0 on
        background, > 0 on instances, PAIR_IGNORE where unknown (crowd, ignore, padding); the
        other images are all 0 (no instance target)."""
        if not use.any():
            return torch.zeros_like(things)
        ids = [x.get("instance_ids", torch.zeros_like(x["sem_seg"])) for x in batched_inputs]
        ids = self._batch(ids, PAIR_IGNORE).long()
        known = (ids > 0) & (things > 0) & (things != self.ignore_value)
        ids = torch.where(things == 0, 0, torch.where(known, ids, PAIR_IGNORE))
        return torch.where(use[:, None, None], ids, 0)

    def _pair_labels(self, things: torch.Tensor, ids: torch.Tensor, use: torch.Tensor):
        """(N, h, w) labels whose equal pairs are "same instance": the thing classes, or the
        instance ids ``ids`` (0 background, PAIR_IGNORE unknown) for the images ``use`` marks."""
        pairs = torch.where(things == self.ignore_value, PAIR_IGNORE, things)
        return torch.where(use[:, None, None], ids, pairs)

    @torch.no_grad()
    def _update_bias(self, displacement: torch.Tensor, labels: torch.Tensor):
        things = (labels > 0) & (labels != self.ignore_value)
        if not things.any():
            return
        mean = displacement.permute(1, 0, 2, 3)[:, things].mean(dim=1)
        if not self.bias_initialized:
            self.displacement_bias.copy_(mean)
            self.bias_initialized.fill_(True)
        else:
            self.displacement_bias.lerp_(mean, 1 - self.bias_momentum)

    # ---------------------------------------------------------------- inference
    @property
    def timer(self):
        """Per-stage inference times (``timer.enabled = True`` to record them)."""
        return self.postprocess.timer

    @torch.no_grad()
    def inference(self, batched_inputs: List[dict], traces: List[dict] = None) -> List[dict]:
        """``traces``: optional list of dicts, one per image, filled with the intermediate
        maps (semantic mask, displacement, boundary, centroid regions, ...) for pictures.
        Records the evaluation could not prepare (``FAILED``) get no instances."""
        if any(FAILED in x for x in batched_inputs):
            good = [k for k, x in enumerate(batched_inputs) if FAILED not in x]
            answers = self.inference([batched_inputs[k] for k in good], traces and [traces[k] for k in good])
            results = [{"instances": empty_instances(x)} for x in batched_inputs]
            for k, answer in zip(good, answers):
                results[k] = answer
            return results
        for x in batched_inputs:
            self._check_input_size(x)
        with self.timer("segmenter"):
            predictions = self.segmenter(batched_inputs)
            for x, prediction in zip(batched_inputs, predictions):
                check_finite(prediction, x, self.segmenter)
            semantic = [p.labels.to(self.device) for p in predictions]
        if self.postprocess.uses_heads:
            with self.timer("backbone+heads"):
                displacement, boundary, center = self._predict_heads(batched_inputs, semantic)
        if self.network_only:
            return [{"instances": empty_instances(x)} for x in batched_inputs]
        results = []
        for i, (x, prediction) in enumerate(zip(batched_inputs, predictions)):
            things = self.thing_lut[semantic[i]]
            things = torch.where(things == self.ignore_value, 0, things)
            output_size = (x.get("height", things.shape[0]), x.get("width", things.shape[1]))
            probs = self._thing_probs(prediction)
            trace = traces[i] if traces is not None else None
            if trace is not None:
                trace["semantic"] = semantic[i]
            if self.postprocess.uses_heads:
                center_i = None if center is None else center[i]
                if trace is not None:
                    trace.update(displacement=displacement[i], boundary=boundary[i], center=center_i)
                instances = self.postprocess.displacement(
                    displacement[i], boundary[i], things, output_size, self.head_stride, probs, trace,
                    center_i, self.center_stride,
                )
            else:
                instances = self.postprocess.connected_components(things, output_size, probs)
            results.append({"instances": instances, "sem_seg": self._sem_seg(prediction, output_size)})
        return results

    @property
    def center_stride(self) -> int:
        """Input pixels per pixel of the centre head's output (0 without one)."""
        return 0 if self.center_head is None else self.center_head.stride

    def _predict_heads(self, batched_inputs: List[dict], semantic: List[torch.Tensor]):
        """(displacement (N, 2, h, w) with the bias removed, boundary probabilities (N, h, w),
        centre probabilities (N, h', w') or None): the heads' outputs, or the perfect ones of
        ``oracle_heads`` (the centres: the centre head's targets)."""
        if self.oracle_heads is not None:
            size = self._batch(semantic, self.ignore_value).shape[-2:]
            head_size = (size[0] // self.head_stride, size[1] // self.head_stride)
            displacement, boundary = self.oracle_heads(batched_inputs, head_size, self.head_stride, self.device)
            return displacement, boundary, self._perfect_centers(batched_inputs, size)
        displacement, boundary_logits, center_logits = averaged_heads(
            self._debiased_network, self._padded_inputs(batched_inputs, semantic), self.field_augmentations
        )
        boundary = resize_to(boundary_logits, displacement.shape[-2:]).sigmoid()[:, 0]
        return displacement, boundary, None if center_logits is None else center_logits.sigmoid()[:, 0]

    def _perfect_centers(self, batched_inputs: List[dict], size):
        """The centre head's targets (N, h', w') for the ground-truth instances; None without a head."""
        if self.center_head is None:
            return None
        ids = self._batch([x["instance_ids"] for x in batched_inputs], 0).long()
        stride = self.center_stride
        return self.center_head.targets(ids.clamp(min=0), (size[0] // stride, size[1] // stride))[0]

    def _debiased_network(self, images: torch.Tensor, labels: torch.Tensor):
        """The heads with the field's bias removed (before any averaging: it turns with the field)."""
        displacement, boundary_logits, center_logits = self._network(images, labels)
        return displacement - self.displacement_bias.view(1, 2, 1, 1), boundary_logits, center_logits

    def _check_input_size(self, record: dict):
        height, width = record["image"].shape[-2:]
        check_input_pixels(record.get("file_name", "an input"), height, width, self.max_input_pixels)

    def _thing_probs(self, prediction) -> torch.Tensor:
        """(K+1, H, W): zeros for background, then each thing class's probability; None
        for a hard mask."""
        if prediction.probs is None:
            return None
        probs = prediction.probs.to(self.device)
        return torch.cat([probs.new_zeros(1, *probs.shape[1:]), probs[self.thing_semantic_ids]])

    def _sem_seg(self, prediction, output_size) -> torch.Tensor:
        """The segmenter's output as (C, H, W) scores at the original size (one-hot uint8 for a
        hard mask), as Detectron2's semantic models return it."""
        if prediction.probs is not None:
            probs = prediction.probs[None].float().to(self.device)
            return torch.nn.functional.interpolate(probs, size=output_size, mode="bilinear")[0]
        labels = resize_labels(prediction.labels.to(self.device), output_size)
        classes = self.input_encoder.num_semantic_classes
        ids = torch.arange(classes, device=self.device).view(-1, 1, 1)
        return (labels[None] == ids).to(torch.uint8)


def _center_head(cfg, shapes, input_channels: int):
    """``MODEL.SISEG.CENTER``'s head, or None; it trains on instance ids and its peaks are read by
    the votes grouping only, so other settings are an error."""
    head = build_center_head(cfg, shapes, input_channels)
    if head is None:
        return None
    s = cfg.MODEL.SISEG
    if s.GROUPING != "votes":
        raise ConfigError(
            f"MODEL.SISEG.CENTER.NAME {s.CENTER.NAME!r} gives centres to the votes grouping "
            f"only; MODEL.SISEG.GROUPING is {s.GROUPING!r}"
        )
    if s.SUPERVISION == "semantic":
        raise ConfigError(
            "MODEL.SISEG.CENTER.NAME needs instance ids to train (the semantic supervision has none): "
            "use SUPERVISION instance, mixed or label_free, or CENTER.NAME ''"
        )
    return head


def empty_instances(record: dict) -> Instances:
    """No detections, at the record's original size (network-only timing)."""
    size = (record.get("height", record["image"].shape[-2]), record.get("width", record["image"].shape[-1]))
    instances = Instances(size)
    instances.pred_masks = torch.zeros(0, *size, dtype=torch.bool)
    instances.pred_boxes = Boxes(torch.zeros(0, 4))
    instances.scores = torch.zeros(0)
    instances.pred_classes = torch.zeros(0, dtype=torch.long)
    return instances
