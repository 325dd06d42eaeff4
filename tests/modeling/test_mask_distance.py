import pytest
import torch

from sisieg.errors import ConfigError
from sisieg.modeling.input_encoding import InputEncoder
from sisieg.modeling.mask_distance import label_distance
from sisieg.modeling.targets import boundary_of


def two_touching_squares():
    """(1, 24, 32): two 10x10 squares of class 1 side by side (one component) and a class-2
    strip below them."""
    labels = torch.zeros(1, 24, 32, dtype=torch.long)
    labels[0, 4:14, 6:16] = 1
    labels[0, 6:12, 16:26] = 1
    labels[0, 18:22, 4:28] = 2
    return labels


def brute_force(labels, cap):
    """Euclidean distance of every pixel to the nearest boundary pixel, by enumeration."""
    edge = boundary_of(labels)[0] > 0
    ys, xs = torch.nonzero(edge, as_tuple=True)
    grid_y, grid_x = torch.meshgrid(torch.arange(labels.shape[1]), torch.arange(labels.shape[2]), indexing="ij")
    d = ((grid_y[..., None] - ys) ** 2 + (grid_x[..., None] - xs) ** 2).float().sqrt().min(-1).values
    return d.clamp(max=cap) / cap


def test_distance_is_euclidean_to_another_label_within_the_chamfer_error():
    labels = two_touching_squares()
    d = label_distance(labels, cap=8.0)
    assert d.shape == (1, 1, 24, 32)
    assert torch.all(d[0, 0][boundary_of(labels)[0] > 0] == 0)
    exact = brute_force(labels, 8.0)
    assert torch.allclose(d[0, 0], exact, rtol=0.03, atol=1e-6)
    # The neck where the two squares meet is thinner than either square's middle: a saddle.
    neck, left_middle = d[0, 0, 9, 16], d[0, 0, 9, 11]
    assert neck < left_middle


def test_distance_follows_flips_and_transposes_of_the_mask():
    labels = two_touching_squares()
    d = label_distance(labels, cap=6.0)
    assert torch.allclose(label_distance(labels.flip(-1), 6.0), d.flip(-1), atol=1e-5)
    assert torch.allclose(label_distance(labels.transpose(1, 2), 6.0), d.transpose(2, 3), atol=1e-5)


def test_a_mask_of_one_label_is_at_the_cap():
    assert torch.all(label_distance(torch.ones(2, 5, 7, dtype=torch.long), cap=4.0) == 1)


def test_the_encoder_appends_the_distance_channel():
    labels = two_touching_squares()
    encoder = InputEncoder("mask", "onehot", 3, 255, [0.0] * 3, [1.0] * 3, distance_cap=8.0)
    x = encoder(None, labels)
    assert encoder.in_channels == 4 and x.shape == (1, 4, 24, 32)
    assert torch.equal(x[:, 3:], label_distance(labels, 8.0))
    with pytest.raises(ConfigError, match="MASK_DISTANCE_CAP"):
        InputEncoder("image", "onehot", 3, 255, [0.0] * 3, [1.0] * 3, distance_cap=8.0)
