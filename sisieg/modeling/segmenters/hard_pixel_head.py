"""The semantic head of the segmenters trained here: Panoptic FPN's, with a hard-pixel loss.

Detectron2's ``SemSegFPNHead`` averages the cross-entropy over every pixel; on images that
are mostly background the easy background pixels dominate it, and a segmenter trained from
scratch learns "everything is background" first. ``HardPixelSemSegFPNHead`` keeps the head
and averages the loss over the hardest ``MODEL.SEM_SEG_HEAD.LOSS_TOP_K`` share of the labelled
pixels only (the bootstrapped cross-entropy of Detectron2's DeepLab project; 1.0 = the plain
mean). Select it with ``MODEL.SEM_SEG_HEAD.NAME: "HardPixelSemSegFPNHead"``.
"""
import torch
from detectron2.config import configurable
from detectron2.modeling import SEM_SEG_HEADS_REGISTRY
from detectron2.modeling.meta_arch.semantic_seg import SemSegFPNHead
from torch.nn import functional as F

from ...errors import ConfigError


def hard_pixel_cross_entropy(logits, targets, top_k: float, ignore_value: int) -> torch.Tensor:
    """Mean cross-entropy of the ``top_k`` share (0 < top_k <= 1) of the labelled pixels with
    the largest loss; ``logits`` (N, C, H, W), ``targets`` (N, H, W) with ``ignore_value``."""
    losses = F.cross_entropy(logits, targets, reduction="none", ignore_index=ignore_value)
    losses = losses.flatten()[targets.flatten() != ignore_value]
    if losses.numel() == 0:
        return logits.sum() * 0.0
    count = max(1, int(round(top_k * losses.numel())))
    return losses.topk(count, sorted=False).values.mean() if count < losses.numel() else losses.mean()


@SEM_SEG_HEADS_REGISTRY.register()
class HardPixelSemSegFPNHead(SemSegFPNHead):
    """``SemSegFPNHead`` whose loss keeps the hardest ``loss_top_k`` share of the pixels."""

    @configurable
    def __init__(self, input_shape, *, loss_top_k: float = 1.0, **kwargs):
        super().__init__(input_shape, **kwargs)
        if not 0.0 < loss_top_k <= 1.0:
            raise ConfigError(f"MODEL.SEM_SEG_HEAD.LOSS_TOP_K must be in (0, 1], got {loss_top_k}")
        self.loss_top_k = loss_top_k

    @classmethod
    def from_config(cls, cfg, input_shape):
        args = super().from_config(cfg, input_shape)
        args["loss_top_k"] = cfg.MODEL.SEM_SEG_HEAD.LOSS_TOP_K
        return args

    def losses(self, predictions, targets):
        logits = F.interpolate(predictions.float(), scale_factor=self.common_stride,
                               mode="bilinear", align_corners=False)
        loss = hard_pixel_cross_entropy(logits, targets, self.loss_top_k, self.ignore_value)
        return {"loss_sem_seg": loss * self.loss_weight}
