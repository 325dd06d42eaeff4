"""Pair losses of the heads: DFM displacement losses (Eq. 7-10) and CBR boundary loss (Eq. 16)."""
import torch
import torch.nn.functional as F

from .pair_sampling import PairSampler, pair_affinity, pair_labels
from .targets import HeadTargets, batch_keys

_EPS = 1e-5


def _masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Sum of ``values`` over ``mask`` divided by (count + 1e-5); 0 for an empty mask."""
    return torch.where(mask, values, values.new_zeros(())).sum() / (mask.sum() + _EPS)


def displacement_losses(
    displacement: torch.Tensor,
    labels: torch.Tensor,
    sampler: PairSampler,
    ignore_value: int = 255,
) -> dict:
    """``loss_dfm_fg`` and ``loss_dfm_bg`` of a displacement field (B, 2, h, w), (dy, dx).

    fg: mean over P+fg of |D(x_i) - D(x_j) - (x_j - x_i)|_1 / 2; bg: mean over P+bg of
    |D(x_i) - D(x_j)|_1 / 2 (the 2 averages the two channels). Computed in float32.
    """
    height, width = displacement.shape[-2:]
    src, dst = sampler.index(height, width, displacement.device)
    flat = displacement.float().flatten(2)
    diff = flat[:, :, src][:, :, None, :] - flat[:, :, dst]  # (B, 2, N, P)
    delta = sampler.offsets.to(flat)[:, :, None].transpose(0, 1)  # (2, N, 1): x_j - x_i
    pos_fg, pos_bg, _ = pair_labels(labels, sampler, ignore_value)
    fg = (diff - delta).abs().sum(1) / 2
    bg = diff.abs().sum(1) / 2
    return {"loss_dfm_fg": _masked_mean(fg, pos_fg), "loss_dfm_bg": _masked_mean(bg, pos_bg)}


def boundary_loss(
    boundary_logits: torch.Tensor,
    labels: torch.Tensor,
    sampler: PairSampler,
    ignore_value: int = 255,
) -> torch.Tensor:
    """Class-balanced cross-entropy of the pair affinities from boundary logits (B, 1, h, w).

    L = 1/2 [1/2 mean_{P+bg} -log a + 1/2 mean_{P+fg} -log a] + 1/2 mean_{P-} -log(1 - a),
    with a = 1 - max over the path of sigmoid(logits) and 1e-5 inside the logs and counts.
    """
    affinity = pair_affinity(torch.sigmoid(boundary_logits.float()[:, 0]), sampler)
    pos_fg, pos_bg, neg = pair_labels(labels, sampler, ignore_value)
    pos_term = -torch.log(affinity + _EPS)
    neg_term = -torch.log(1 - affinity + _EPS)
    positive = 0.5 * _masked_mean(pos_term, pos_bg) + 0.5 * _masked_mean(pos_term, pos_fg)
    return 0.5 * positive + 0.5 * _masked_mean(neg_term, neg)


def offset_loss(displacement: torch.Tensor, targets: HeadTargets, area_power: float = 0.0,
                contact_weight: float = 0.0, contact_radius: int = 4) -> torch.Tensor:
    """L1 between the field (N, 2, h, w) and the true centroid offsets of ``targets`` over the
    instance pixels (ids > 0), averaged over the two channels; 0 when there is none. Each
    pixel weighs area^-``area_power`` (its instance's pixels on the head grid: 0 = a plain
    mean, where large objects dominate; 1 = every instance weighs the same), times
    1 + ``contact_weight`` within ``contact_radius`` head pixels of another instance (where
    the field must turn between two centres: U-Net's weighting of the gaps between cells)."""
    error = (displacement.float() - targets.offsets).abs().sum(1) / 2
    valid = targets.instances > 0
    if area_power == 0 and contact_weight == 0:
        return _masked_mean(error, valid)
    weight = valid.float()
    if area_power != 0:
        weight = weight * instance_area(targets.instances).float().pow(-float(area_power))
    if contact_weight != 0:
        weight = weight * (1 + float(contact_weight) * contact_band(targets.instances, contact_radius))
    return (error * weight).sum() / (weight.sum() + _EPS)


def contact_band(instances: torch.Tensor, radius: int) -> torch.Tensor:
    """(N, h, w) float: 1 at instance pixels of ``instances`` (N, h, w) with a pixel of another
    instance (id > 0) in the (2 ``radius`` + 1)² window around them, else 0. Two square
    max-pools: a larger id nearby, or (ids negated, non-instances below every id) a smaller one."""
    ids = instances.float()[:, None]
    larger = _square_max(ids, int(radius)) > ids
    others = torch.where(ids > 0, -ids, ids.new_tensor(-float("inf")))
    smaller = -_square_max(others, int(radius)) < ids
    return ((larger | smaller) & (ids > 0))[:, 0].float()


def _square_max(x: torch.Tensor, radius: int) -> torch.Tensor:
    """Max over the (2 radius + 1)² window of (N, 1, h, w), as a row then a column max-pool
    (2 x 9 comparisons a pixel instead of 81 at radius 4)."""
    size = 2 * radius + 1
    x = F.max_pool2d(x, (1, size), stride=1, padding=(0, radius))
    return F.max_pool2d(x, (size, 1), stride=1, padding=(radius, 0))


def instance_area(instances: torch.Tensor) -> torch.Tensor:
    """(N, h, w) long: the pixel count of each pixel's instance in ``instances`` (N, h, w) (ids
    < 1 count as one instance per image; callers mask them)."""
    keys, size = batch_keys(instances)
    return torch.bincount(keys, minlength=instances.shape[0] * size)[keys].view_as(instances).clamp(min=1)
