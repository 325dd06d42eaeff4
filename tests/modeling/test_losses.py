"""DFM and CBR pair losses: exact zeros, brute-force values, ignore handling, gradients."""
import itertools
import math

import torch

from sisieg.modeling.losses import boundary_loss, displacement_losses
from sisieg.modeling.pair_sampling import PairSampler, pair_labels, segment_path


def _ideal_field(labels, centroids, background=(0.25, -0.5)):
    """D(x) = c_k - x on the pixels of class k (one object per class), a constant elsewhere."""
    height, width = labels.shape
    ys, xs = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
    coords = torch.stack([ys, xs]).float()
    field = torch.tensor(background).view(2, 1, 1).expand(2, height, width).clone()
    for cls, centroid in centroids.items():
        inside = labels == cls
        field[:, inside] = (torch.tensor(centroid).view(2, 1, 1) - coords)[:, inside]
    return field


def _two_objects():
    labels = torch.zeros(14, 20, dtype=torch.long)
    labels[2:8, 2:9] = 1
    labels[8:13, 11:19] = 2
    return labels, {1: (4.5, 5.0), 2: (10.0, 14.5)}


def _brute_force(displacement, labels, radius, ignore=255):
    """Loop over every source pixel and offset: the two DFM losses and the pair counts."""
    height, width = labels.shape
    offsets = PairSampler(radius).offsets.tolist()
    sums, counts = {"fg": 0.0, "bg": 0.0, "neg": 0}, {"fg": 0, "bg": 0, "neg": 0}
    for y, x in itertools.product(range(height), range(width)):
        if not all(0 <= y + dy < height and 0 <= x + dx < width for dy, dx in offsets):
            continue
        for dy, dx in offsets:
            a, b = int(labels[y, x]), int(labels[y + dy, x + dx])
            diff = displacement[:, y, x] - displacement[:, y + dy, x + dx]
            if a == b == 0:
                counts["bg"] += 1
                sums["bg"] += float(diff.abs().sum())
            elif a != ignore and b != ignore and a == b:
                counts["fg"] += 1
                sums["fg"] += float((diff - torch.tensor([dy, dx])).abs().sum())
            elif a != ignore and b != ignore:
                counts["neg"] += 1
    losses = {k: sums[k] / (2 * (counts[k] + 1e-5)) for k in ("fg", "bg")}
    return losses, counts


def test_ideal_field_gives_zero_and_random_field_positive():
    labels, centroids = _two_objects()
    field = _ideal_field(labels, centroids)
    sampler = PairSampler(5)
    pos_fg, pos_bg, neg = pair_labels(labels[None], sampler)
    assert pos_fg.sum() > 0 and pos_bg.sum() > 0 and neg.sum() > 0
    losses = displacement_losses(field[None], labels[None], sampler)
    assert set(losses) == {"loss_dfm_fg", "loss_dfm_bg"}
    assert losses["loss_dfm_fg"].item() == 0.0 and losses["loss_dfm_bg"].item() == 0.0
    torch.manual_seed(0)
    noisy = displacement_losses(torch.randn(1, 2, 14, 20), labels[None], sampler)
    assert noisy["loss_dfm_fg"] > 0.1 and noisy["loss_dfm_bg"] > 0.1


def test_displacement_losses_match_brute_force_with_ignore():
    torch.manual_seed(0)
    labels = torch.randint(0, 3, (8, 11))
    labels[torch.rand(8, 11) < 0.15] = 255
    field = torch.randn(2, 8, 11)
    losses = displacement_losses(field[None], labels[None], PairSampler(3))
    expected, counts = _brute_force(field, labels, 3)
    pos_fg, pos_bg, neg = pair_labels(labels[None], PairSampler(3))
    assert (pos_fg.sum(), pos_bg.sum(), neg.sum()) == (counts["fg"], counts["bg"], counts["neg"])
    assert math.isclose(losses["loss_dfm_fg"].item(), expected["fg"], rel_tol=1e-5)
    assert math.isclose(losses["loss_dfm_bg"].item(), expected["bg"], rel_tol=1e-5)


def test_ignore_pixels_join_no_pair():
    labels, centroids = _two_objects()
    labels[5, 5] = labels[1, 15] = 255
    field = _ideal_field(labels, centroids).requires_grad_(True)
    with torch.no_grad():
        field[:, 5, 5] = 100.0  # values at ignore pixels must not matter
        field[:, 1, 15] = -100.0
    sampler = PairSampler(5)
    losses = displacement_losses(field[None], labels[None], sampler)
    logits = torch.zeros(1, 1, 14, 20, requires_grad=True)
    total = losses["loss_dfm_fg"] + losses["loss_dfm_bg"] + boundary_loss(logits, labels[None], sampler)
    total.backward()
    assert losses["loss_dfm_fg"].item() == 0.0 and losses["loss_dfm_bg"].item() == 0.0
    assert field.grad[:, 5, 5].abs().sum() == 0 and field.grad[:, 1, 15].abs().sum() == 0


def test_empty_pair_sets_give_zero_not_nan():
    sampler = PairSampler(3)
    labels = torch.full((1, 6, 6), 255)
    field = torch.randn(1, 2, 6, 6, requires_grad=True)
    logits = torch.randn(1, 1, 6, 6, requires_grad=True)
    losses = displacement_losses(field, labels, sampler)
    cbr = boundary_loss(logits, labels, sampler)
    for value in (losses["loss_dfm_fg"], losses["loss_dfm_bg"], cbr):
        assert value.item() == 0.0
    (losses["loss_dfm_fg"] + losses["loss_dfm_bg"] + cbr).backward()
    assert torch.isfinite(field.grad).all() and torch.isfinite(logits.grad).all()


def test_boundary_loss_matches_definition():
    torch.manual_seed(0)
    labels = torch.randint(0, 3, (1, 7, 9))
    logits = torch.randn(1, 1, 7, 9)
    sampler = PairSampler(3)
    height, width = 7, 9
    boundary = torch.sigmoid(logits[0, 0])
    terms = {"bg": [], "fg": [], "neg": []}
    src, _ = sampler.index(height, width, "cpu")
    for i in src.tolist():
        y, x = divmod(i, width)
        for dy, dx in sampler.offsets.tolist():
            a = 1 - max(float(boundary[y + py, x + px]) for py, px in segment_path(dy, dx).tolist())
            li, lj = int(labels[0, y, x]), int(labels[0, y + dy, x + dx])
            key = "bg" if li == lj == 0 else "fg" if li == lj else "neg"
            terms[key].append(-math.log(1 - a + 1e-5) if key == "neg" else -math.log(a + 1e-5))
    mean = {k: sum(v) / (len(v) + 1e-5) for k, v in terms.items()}
    expected = 0.5 * (0.5 * mean["bg"] + 0.5 * mean["fg"]) + 0.5 * mean["neg"]
    assert math.isclose(boundary_loss(logits, labels, sampler).item(), expected, rel_tol=1e-5)


def test_boundary_loss_prefers_the_class_border():
    labels = torch.zeros(1, 24, 64, dtype=torch.long)
    labels[:, :, 32:] = 1
    sampler = PairSampler(5)
    border = torch.zeros(1, 1, 24, 64)
    border[..., 32] = 1.0  # the first column of the class-1 side
    uniform = torch.full((1, 1, 24, 64), 0.5)
    logit = lambda p: torch.logit(p.clamp(1e-6, 1 - 1e-6))  # noqa: E731
    at_border = boundary_loss(logit(border), labels, sampler)
    at_half = boundary_loss(logit(uniform), labels, sampler)
    assert at_border < at_half
    assert math.isclose(at_half.item(), -math.log(0.5 + 1e-5), rel_tol=1e-4)


def test_gradients_flow_to_both_inputs():
    labels, _ = _two_objects()
    torch.manual_seed(0)
    field = torch.randn(2, 2, 14, 20, requires_grad=True)
    logits = torch.randn(2, 1, 14, 20, requires_grad=True)
    sampler = PairSampler(5)
    batch = torch.stack([labels, labels.flip(1)])
    losses = displacement_losses(field, batch, sampler)
    total = losses["loss_dfm_fg"] + losses["loss_dfm_bg"] + boundary_loss(logits, batch, sampler)
    total.backward()
    for grad in (field.grad, logits.grad):
        assert torch.isfinite(grad).all() and grad.abs().sum() > 0
