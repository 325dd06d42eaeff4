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
from torch import nn
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


@SEM_SEG_HEADS_REGISTRY.register()
class FineSemSegFPNHead(HardPixelSemSegFPNHead):
    """``HardPixelSemSegFPNHead`` that predicts at full resolution: its stride-4 features are
    narrowed, upsampled and refined together with the image itself (two 3x3 convolutions embed
    it, one fuses both), so that class boundaries follow the image's edges instead of stride-4
    logits upsampled bilinearly. The backbone must output the ``input`` feature (stride 1;
    ``MODEL.SEM_SEG_HEAD.FINE_FEATURE``); ``MODEL.SEM_SEG_HEAD.FINE_CHANNELS`` is the width of
    the full-resolution layers. They run in channels-last memory order (``memory_format``), which
    the CPU's convolutions run faster (a training step 0.70x, ``tools/benchmark_training_step.py --compare layout``)."""

    @configurable
    def __init__(self, input_shape, *, fine_feature: str, fine_channels: int, **kwargs):
        coarse = {k: v for k, v in input_shape.items() if k != fine_feature}
        super().__init__(coarse, **kwargs)
        if fine_feature not in input_shape or input_shape[fine_feature].stride != 1:
            raise ConfigError(
                f"MODEL.SEM_SEG_HEAD.FINE_FEATURE {fine_feature!r} must be a stride-1 backbone output "
                f"in MODEL.SEM_SEG_HEAD.IN_FEATURES (the light backbone's 'input'); got {sorted(input_shape)}"
            )
        self.fine_feature = fine_feature
        conv_dims = self.predictor.in_channels
        half = max(fine_channels // 2, 8)
        self.narrow = nn.Sequential(nn.Conv2d(conv_dims, fine_channels, 1), nn.ReLU(inplace=True))
        self.embed_image = nn.Sequential(
            nn.Conv2d(input_shape[fine_feature].channels, half, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(half, half, 3, padding=1), nn.ReLU(inplace=True),
        )
        self.refine = nn.Sequential(nn.Conv2d(fine_channels + half, fine_channels, 3, padding=1), nn.ReLU(inplace=True))
        self.predictor = nn.Conv2d(fine_channels, self.predictor.out_channels, 1)
        self.memory_format = torch.channels_last  # of the full-resolution layers; same outputs either way

    @classmethod
    def from_config(cls, cfg, input_shape):
        head = cfg.MODEL.SEM_SEG_HEAD
        args = super().from_config(cfg, input_shape)
        args["input_shape"] = {k: v for k, v in input_shape.items() if k in head.IN_FEATURES or k == head.FINE_FEATURE}
        args["fine_feature"] = head.FINE_FEATURE
        args["fine_channels"] = head.FINE_CHANNELS
        return args

    def layers(self, features):
        """(N, classes, H, W) logits at full resolution."""
        coarse = None
        for name, scale_head in zip(self.in_features, self.scale_heads):
            level = scale_head(features[name])
            coarse = level if coarse is None else coarse + level
        image = features[self.fine_feature].contiguous(memory_format=self.memory_format)
        coarse = coarse.contiguous(memory_format=self.memory_format)
        context = F.interpolate(self.narrow(coarse), size=image.shape[-2:], mode="bilinear", align_corners=False)
        fine = self.refine(torch.cat([context, self.embed_image(image)], dim=1))
        return self.predictor(fine).contiguous()

    def forward(self, features, targets=None):
        logits = self.layers(features)
        if self.training:
            return None, {"loss_sem_seg": hard_pixel_cross_entropy(logits.float(), targets, self.loss_top_k,
                                                                   self.ignore_value) * self.loss_weight}
        return logits, {}
