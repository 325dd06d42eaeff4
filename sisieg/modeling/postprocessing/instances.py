"""From the heads' outputs and the semantic mask to Detectron2 ``Instances`` of one image.

Groupings (``MODEL.SISEG.GROUPING``):
- ``votes`` (default): every pixel votes for its centre at pixel + D, modes of the votes per
  semantic component are the centres, each pixel of the component joins the nearest one at
  full resolution (postprocessing/center_votes.py). Lossless under perfect heads.
- ``irnet`` (the paper, faithful): refine the field 99 steps, centroid regions where |D| < tau
  on the head grid, pixels assigned to the region their endpoint falls in, split by semantic
  connectivity (postprocessing/irnet_grouping.py).
- ``connected_components``: no networks, one instance per connected region of each class,
  the trivial baseline.
Then, optionally, each instance's seeds (1 - B) spread by the boundary-aware random walk;
pixels take the best-scoring instance of their class at the input resolution; regions no
instance reached become instances; score = objectness x class score (Eq. 13).
"""
from dataclasses import dataclass, field
from functools import partial
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from detectron2.structures import Boxes, Instances

from ...errors import check_choice
from ...utils import StageTimer
from ..labels import downsample_labels, label_boxes, label_masks, mean_per_label, relabel_contiguous
from ..labels import resize_labels, upsample_scores
from .center_peaks import find_peaks, modes_from_peaks
from .center_votes import VoteSettings, group_by_votes
from .components import semantic_components
from .irnet_grouping import assign_to_centroids, centroid_thresholds, find_centroid_regions
from .irnet_grouping import majority_class, split_by_semantic_components
from .random_walk import neighbour_affinity, random_walk
from .refinement import refine_displacement
from .walk_packing import packed_seeds, unpack

GROUPINGS = ("votes", "irnet", "connected_components")
SCORE_NORMALIZATIONS = ("instance", "global")


@dataclass
class InstanceInference:
    """Inference hyper-parameters (``MODEL.SISEG.INFERENCE``, ``MODEL.SISEG.VOTES``) and the
    steps that use them."""

    grouping: str = "votes"
    votes: VoteSettings = VoteSettings()
    refine_iters: int = 99
    centroid_threshold: float = 2.5
    centroid_relative: float = 0.3
    centroid_minimum: float = 0.75
    use_random_walk: bool = False
    walk_radius: int = 5
    walk_beta: float = 10.0
    walk_steps: int = 256
    walk_tol: float = 0.0
    background_score: float = 0.25
    score_normalization: str = "instance"
    within_semantic_region: bool = True
    split_by_semantic_connectivity: bool = True
    min_area: int = 16
    max_detections: int = 100
    center_threshold: float = 0.3
    center_nms_radius: int = 3
    center_link_radius: float = 8.0
    timer: StageTimer = field(default_factory=StageTimer, repr=False, compare=False)

    def __post_init__(self):
        check_choice("MODEL.SISEG.GROUPING", self.grouping, GROUPINGS)
        check_choice("MODEL.SISEG.INFERENCE.SCORE_NORMALIZATION", self.score_normalization, SCORE_NORMALIZATIONS)

    @classmethod
    def from_config(cls, cfg) -> "InstanceInference":
        s, i, v = cfg.MODEL.SISEG, cfg.MODEL.SISEG.INFERENCE, cfg.MODEL.SISEG.VOTES
        return cls(
            grouping=s.GROUPING,
            votes=VoteSettings(v.STEPS, v.BIN_SIZE, v.DENSITY_RADIUS, v.CLIMB_RADIUS, v.MIN_MASS, v.MERGE_RADIUS,
                              v.SADDLE_RADIUS, v.SADDLE_RATIO),
            refine_iters=i.REFINE_ITERS,
            centroid_threshold=i.CENTROID_THRESHOLD,
            centroid_relative=i.CENTROID_RELATIVE_THRESHOLD,
            centroid_minimum=i.CENTROID_MIN_THRESHOLD,
            use_random_walk=i.RANDOM_WALK,
            walk_radius=i.RANDOM_WALK_RADIUS,
            walk_beta=i.RANDOM_WALK_BETA,
            walk_steps=i.RANDOM_WALK_STEPS,
            walk_tol=i.RANDOM_WALK_TOL,
            background_score=i.BACKGROUND_SCORE,
            score_normalization=i.SCORE_NORMALIZATION,
            within_semantic_region=i.WITHIN_SEMANTIC_REGION,
            split_by_semantic_connectivity=i.SPLIT_BY_SEMANTIC_CONNECTIVITY,
            min_area=i.MIN_AREA,
            max_detections=cfg.TEST.DETECTIONS_PER_IMAGE,
            center_threshold=s.CENTER.THRESHOLD,
            center_nms_radius=s.CENTER.NMS_RADIUS,
            center_link_radius=s.CENTER.LINK_RADIUS,
        )

    @property
    def uses_heads(self) -> bool:
        return self.grouping != "connected_components"

    def connected_components(self, thing_map: torch.Tensor, output_size, class_probs=None):
        """The baseline: one instance per connected region of each thing class."""
        with self.timer("grouping"):
            instances, instance_class = semantic_components(thing_map)
        with self.timer("output"):
            scores = torch.ones(instance_class.numel(), device=thing_map.device)
            return self.to_instances(instances, instance_class, scores, output_size, class_probs)

    def displacement(
        self,
        displacement: torch.Tensor,
        boundary: torch.Tensor,
        thing_map: torch.Tensor,
        output_size: Tuple[int, int],
        stride: int,
        class_probs: Optional[torch.Tensor] = None,
        trace: Optional[dict] = None,
        center: Optional[torch.Tensor] = None,
        center_stride: int = 4,
    ) -> Instances:
        """SISeg's inference for one image.

        Args:
            displacement: (2, h, w) field on the padded head grid, head pixels, bias removed.
            boundary: (h, w) boundary probabilities on the same grid.
            thing_map: (H, W) thing labels at the network input's resolution (H <= stride * h).
            output_size: (height, width) of the original image.
            stride: input pixels per head pixel.
            class_probs: (K+1, H, W) thing-class probabilities (index 0 background), or None.
            trace: if a dict, receives the intermediate maps (for pictures and debugging).
            center: (h', w') centre probabilities of a centre head on its grid of ``center_stride``
                input pixels, or None: the votes grouping's centres are then its peaks.
        """
        with self.timer("grouping"):
            regions = semantic_components(thing_map)  # once: every step below works in them
        if self.grouping == "votes":
            with self.timer("grouping"):
                votes = group_by_votes(displacement, *regions, stride, self.votes,
                                       self.peak_modes(center, center_stride, displacement.shape[-2:], stride))
            if trace is not None:
                trace.update(endpoints=votes.endpoints, centres=votes.centres, assignment=votes.labels)
            if not self.use_random_walk:
                with self.timer("output"):
                    return self.finish(votes.labels, votes.objectness, votes.instance_class, regions,
                                       output_size, class_probs)
            small_things = downsample_labels(thing_map, displacement.shape[-2:], stride)
            instances = downsample_labels(votes.labels, displacement.shape[-2:], stride)
            instance_class, grouped = votes.instance_class, votes.labels
        else:
            instances, instance_class, small_things = self.irnet_grouping(displacement, thing_map, stride, trace)
            grouped = None
        num = int(instance_class.numel()) - 1
        if num == 0:
            none = torch.zeros_like(thing_map), thing_map.new_zeros(1, dtype=torch.float)
            return self.finish(*none, instance_class, regions, output_size, class_probs)
        with self.timer("random walk"):
            seeds = label_masks(instances, num).float() * (1 - boundary)
            if self.use_random_walk:
                seeds = self.walk(seeds, instances, boundary, small_things)
        with self.timer("output"):
            scores = self.normalize(upsample_scores(seeds, thing_map.shape, stride))
            labels = self.label_pixels(scores, thing_map, instance_class, instances, stride, regions)
            if grouped is not None:  # the walk decides where it reaches; the grouping elsewhere
                labels = torch.where(labels > 0, labels, grouped)
            objectness = mean_per_label(scores, labels, num)
            return self.finish(labels, objectness, instance_class, regions, output_size, class_probs)

    def peak_modes(self, center, center_stride: int, size, stride: int):
        """``modes_of`` for ``group_by_votes``: the modes the peaks of the centre probabilities
        ``center`` give (None without a centre head: the modes of the votes)."""
        if center is None:
            return None
        peaks = find_peaks(center, size, center_stride / stride, self.center_threshold,
                           round(self.center_nms_radius / stride))
        return partial(modes_from_peaks, peaks=peaks, stride=stride, min_mass=self.votes.min_mass,
                       link_radius=self.center_link_radius)

    def irnet_grouping(self, displacement, thing_map, stride, trace):
        """IRNet's rule on the head grid: (instances (h, w), their classes, head-grid things)."""
        with self.timer("grouping"):
            small_things = downsample_labels(thing_map, displacement.shape[-2:], stride)
            foreground = small_things > 0
            components, component_class = semantic_components(small_things)
            threshold = centroid_thresholds(
                components, self.centroid_relative, self.centroid_minimum, self.centroid_threshold
            )
            centroids, _ = find_centroid_regions(displacement, foreground, threshold)
            endpoints = refine_displacement(displacement, self.refine_iters, mask=foreground)
            assignment = assign_to_centroids(endpoints, centroids, foreground)
            instances, instance_class = self.split(assignment, small_things, components, component_class)
        if trace is not None:
            trace.update(centroids=centroids, assignment=assignment, seeds=instances)
        return instances, instance_class, small_things

    def walk(self, seeds, instances, boundary, small_things) -> torch.Tensor:
        """The random walk of every instance's seeds (K, h, w); inside the semantic mask the
        instances share channels (walk_packing: exact, and far cheaper in crowded images)."""
        semantic = small_things if self.within_semantic_region else None
        weights, offsets = neighbour_affinity(boundary, self.walk_radius, self.walk_beta, semantic)
        if not self.within_semantic_region:
            return random_walk(seeds, weights, offsets, self.walk_steps, self.walk_tol)
        packed, channel, member = packed_seeds(seeds, instances, small_things, self.walk_radius)
        return unpack(random_walk(packed, weights, offsets, self.walk_steps, self.walk_tol), channel, member)

    def finish(self, labels, objectness, instance_class, regions, output_size, class_probs):
        """Regions (``semantic_components`` of the thing map) no instance reached become
        instances; then the ``Instances``."""
        labels, instance_class, objectness = adopt_orphans(labels, regions, instance_class, objectness)
        return self.to_instances(labels, instance_class, objectness, output_size, class_probs)

    def label_pixels(self, scores, thing_map, instance_class, seeds=None, stride: int = 1, regions=None) -> torch.Tensor:
        """Per-pixel instance ids (0 = none) from the normalised scores (K, H, W).

        Inside the semantic mask (``within_semantic_region``) each thing pixel takes the
        best-scoring instance of its own class, and only inside the semantic components its
        ``seeds`` (h, w ids on the head grid of ``stride``, if given) lie in: the walk never carries an instance
        across the background to another object (``regions``: the thing map's
        ``semantic_components`` when already computed). Otherwise (the paper) the best instance
        against the background score.
        """
        if self.within_semantic_region:
            scores = scores * (thing_map[None] == instance_class[1:, None, None])
            if seeds is not None:
                regions = regions if regions is not None else semantic_components(thing_map)
                scores = scores * seeded_components(seeds, regions, scores.shape[0], stride)
            best, labels = scores.max(dim=0)
            return torch.where((best > 0) & (thing_map > 0), labels + 1, 0)
        background = torch.full_like(scores[:1], self.background_score)
        return torch.cat([background, scores]).argmax(dim=0)

    def normalize(self, scores: torch.Tensor) -> torch.Tensor:
        """Scores to [0, 1] before the background comparison: by the image's maximum
        (IRNet) or by each instance's own maximum (small instances are not outweighed)."""
        if self.score_normalization == "instance":
            return scores / scores.flatten(1).max(dim=1).values.clamp(min=1e-8)[:, None, None]
        return scores / scores.max().clamp(min=1e-8)

    def split(self, assignment, small_things, components, component_class):
        """Instances and their classes from the centroid assignment: split by semantic
        connectivity (the safeguard), or each centroid group with its majority class."""
        if self.split_by_semantic_connectivity:
            return split_by_semantic_components(assignment, components, component_class)
        instances = relabel_contiguous(assignment)
        return instances, majority_class(instances, small_things, int(instances.max()))

    def to_instances(self, labels, instance_class, objectness, output_size, class_probs):
        """Instance id map (H, W) at input resolution -> Instances at ``output_size``. Areas,
        class scores and boxes come from the label map (no (instances, H, W) tensor); masks are
        built for the kept detections only, as Detectron2's ``pred_masks`` wants them."""
        labels = resize_labels(labels, output_size)
        num = int(instance_class.numel()) - 1
        area = torch.bincount(labels.flatten(), minlength=num + 1)[1:]
        scores = objectness[1:] * self.class_scores(labels, instance_class, class_probs, output_size)
        keep = torch.nonzero((area >= self.min_area) & torch.isfinite(scores))[:, 0]
        order = keep[scores[keep].argsort(descending=True)][: self.max_detections]
        ids = order + 1
        result = Instances(tuple(output_size))
        result.pred_masks = label_masks(labels, ids)
        result.pred_boxes = Boxes(label_boxes(labels, num)[order])
        result.scores = scores[order]
        result.pred_classes = instance_class[ids] - 1
        return result

    @staticmethod
    def class_scores(labels, instance_class, class_probs, output_size):
        """Mean probability of each instance's class over its pixels; 1 for a hard mask.
        ``labels`` (H, W) at ``output_size``; ``instance_class`` (K+1,), entry 0 unused."""
        num = int(instance_class.numel()) - 1
        if class_probs is None or num == 0:
            return torch.ones(num, device=labels.device)
        probs = F.interpolate(class_probs[None], size=output_size, mode="bilinear")[0]
        return mean_per_label(probs, labels, num, channels=instance_class)[1:]  # own class's prob


def seeded_components(seeds: torch.Tensor, regions, num: int, stride: int) -> torch.Tensor:
    """(num, H, W) bool: the pixels of the semantic components (``regions`` = (component map
    at input resolution, component classes)) in which each instance 1..num of ``seeds`` (h, w,
    head grid) has a seed."""
    components, component_class = regions
    small = downsample_labels(components, seeds.shape, stride)
    inside = (seeds > 0) & (small > 0)
    incidence = torch.zeros(num + 1, component_class.numel(), dtype=torch.bool, device=seeds.device)
    incidence[seeds[inside], small[inside]] = True
    return incidence[1:][:, components] & (components > 0)[None]


def adopt_orphans(labels, regions, instance_class, objectness):
    """Connected regions of a thing class (``regions`` = ``semantic_components`` of the thing
    map) that no instance reached (objects too small for the head grid) become instances of
    their own, with objectness 1 like the regions of the connected-components grouping: no
    region of the semantic mask is lost."""
    components, component_class = regions
    reached = torch.zeros(component_class.numel(), dtype=torch.bool, device=labels.device)
    reached[components[labels > 0]] = True
    orphans = torch.nonzero(~reached[1:])[:, 0] + 1
    if orphans.numel() == 0:
        return labels, instance_class, objectness
    num = int(instance_class.numel()) - 1
    new_id = torch.zeros_like(component_class)
    new_id[orphans] = torch.arange(num + 1, num + 1 + orphans.numel(), device=labels.device)
    labels = torch.where((labels == 0) & (new_id[components] > 0), new_id[components], labels)
    instance_class = torch.cat([instance_class, component_class[orphans]])
    objectness = torch.cat([objectness, objectness.new_ones(orphans.numel())])
    return labels, instance_class, objectness
