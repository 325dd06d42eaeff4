"""Inference primitives: refinement, connected components, centroids and the random walk."""
import itertools
import math

import pytest
import torch

from sisieg.modeling.postprocessing.components import connected_components
from sisieg.modeling.postprocessing.irnet_grouping import assign_to_centroids, find_centroid_regions
from sisieg.modeling.postprocessing.random_walk import neighbour_affinity, random_walk
from sisieg.modeling.postprocessing.refinement import refine_displacement


def _coords(height, width):
    ys, xs = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
    return torch.stack([ys, xs]).float()


# ---------------------------------------------------------------- refinement
def test_refinement_converges_to_the_centroid():
    height, width, centre = 24, 28, torch.tensor([10.3, 12.6])
    coords = _coords(height, width)
    disk = ((coords - centre.view(2, 1, 1)) ** 2).sum(0) < 7 ** 2
    field = torch.where(disk, 0.5 * (centre.view(2, 1, 1) - coords), torch.zeros(()))
    endpoints = refine_displacement(field, 99)
    error = (endpoints[:, disk] - centre[:, None]).norm(dim=0)
    assert error.max() < 0.5 and error.max() < 1e-3
    assert torch.equal(endpoints[:, ~disk], coords[:, ~disk])  # zero field: nobody moves
    masked = refine_displacement(field, 99, mask=disk)
    assert torch.equal(masked[:, disk], endpoints[:, disk])
    assert torch.equal(masked[:, ~disk], coords[:, ~disk])  # unrefined: own coordinates


def test_bilinear_sampling_matches_grid_sample():
    from sisieg.modeling.postprocessing.refinement import sample_field

    generator = torch.Generator().manual_seed(0)
    field = torch.randn(2, 9, 13, generator=generator)
    points = torch.rand(2, 200, generator=generator) * torch.tensor([[8.0], [12.0]])
    points[:, :4] = torch.tensor([[0.0, 8.0, 8.0, 3.0], [0.0, 12.0, 5.5, 12.0]])  # edges
    grid = points.flip(0).t() / torch.tensor([12.0, 8.0]) * 2 - 1
    reference = torch.nn.functional.grid_sample(
        field[None], grid[None, None], align_corners=True)[0, :, 0]
    assert torch.allclose(sample_field(field, points), reference, atol=1e-5)


def test_refinement_clips_to_the_grid_and_zero_iterations_is_identity():
    field = torch.zeros(2, 5, 6)
    field[0], field[1] = -50.0, 50.0
    endpoints = refine_displacement(field, 3)
    assert torch.all(endpoints[0] == 0) and torch.all(endpoints[1] == 5)
    assert torch.equal(refine_displacement(field, 0), _coords(5, 6))


# ------------------------------------------------------- connected components
def test_connected_components_four_connectivity():
    mask = torch.tensor([
        [1, 1, 0, 0],
        [1, 0, 0, 1],
        [0, 1, 0, 1],  # (2, 1) touches (1, 0) only diagonally: a component of its own
        [0, 0, 0, 1],
    ], dtype=torch.bool)
    expected = torch.tensor([
        [1, 1, 0, 0],
        [1, 0, 0, 2],
        [0, 3, 0, 2],
        [0, 0, 0, 2],
    ])
    for backend in ("scipy", "torch", "auto"):
        labels, n = connected_components(mask, backend=backend)
        assert n == 3 and labels.dtype == torch.long and torch.equal(labels, expected)


def _snake(height, width):
    """A one-pixel-wide snake: one component whose path (~hw/2) far exceeds the grid side."""
    mask = torch.zeros(height, width, dtype=torch.bool)
    mask[::2] = True
    for row in range(1, height, 2):
        mask[row, width - 1 if row % 4 == 1 else 0] = True
    return mask


@pytest.mark.parametrize("density", [0.0, 0.3, 0.5, 0.6, 1.0])
def test_connected_components_backends_agree(density):
    generator = torch.Generator().manual_seed(int(density * 10))
    for shape in [(1, 1), (1, 17), (13, 1), (31, 47)]:
        mask = torch.rand(shape, generator=generator) < density
        scipy_labels, scipy_n = connected_components(mask, backend="scipy")
        torch_labels, torch_n = connected_components(mask, backend="torch")
        assert scipy_n == torch_n and torch.equal(scipy_labels, torch_labels)
        assert torch.equal(torch.unique(scipy_labels[mask]), torch.arange(1, scipy_n + 1))
        assert torch.equal(scipy_labels > 0, mask)


def test_connected_components_long_path():
    mask = _snake(41, 40)
    assert connected_components(mask, backend="scipy")[1] == 1
    labels, n = connected_components(mask, backend="torch")
    assert n == 1 and torch.equal(labels, mask.long())


# --------------------------------------------------------------- centroids
def _ideal_squares(boxes, shape):
    """Foreground, and D(x) = centroid - x on each box (y0, y1, x0, x1), 0 elsewhere."""
    coords = _coords(*shape)
    field, foreground = torch.zeros(2, *shape), torch.zeros(shape, dtype=torch.bool)
    truth = torch.zeros(shape, dtype=torch.long)
    for k, (y0, y1, x0, x1) in enumerate(boxes, start=1):
        centroid = torch.tensor([(y0 + y1 - 1) / 2, (x0 + x1 - 1) / 2]).view(2, 1, 1)
        field[:, y0:y1, x0:x1] = (centroid - coords)[:, y0:y1, x0:x1]
        foreground[y0:y1, x0:x1] = True
        truth[y0:y1, x0:x1] = k
    return field, foreground, truth


@pytest.mark.parametrize("boxes", [
    [(2, 9, 3, 10), (12, 20, 14, 22)],  # two separate squares (odd and even sides)
    [(2, 10, 2, 10), (2, 10, 10, 18)],  # two touching 8x8 squares of the same class
])
def test_centroids_and_assignment_split_instances(boxes):
    field, foreground, truth = _ideal_squares(boxes, (24, 26))
    regions, n = find_centroid_regions(field, foreground, threshold=1.0)
    assert n == 2
    endpoints = refine_displacement(field, 99, mask=foreground)
    instances = assign_to_centroids(endpoints, regions, foreground)
    assert instances.dtype == torch.long
    assert torch.equal(instances, truth)  # regions numbered in raster order like the boxes


def test_assignment_outside_every_region_is_zero():
    regions = torch.zeros(6, 6, dtype=torch.long)
    regions[1, 1] = 1
    foreground = torch.ones(6, 6, dtype=torch.bool)
    foreground[0, 0] = False
    endpoints = torch.zeros(2, 6, 6)
    endpoints[:, 2:, :] = torch.tensor([1.2, 0.8]).view(2, 1, 1)  # rounds to (1, 1)
    instances = assign_to_centroids(endpoints, regions, foreground)
    assert instances[2:].eq(1).all() and instances[:2].eq(0).all()


# ------------------------------------------------------------- random walk
def _dense_reference(boundary, radius, beta, semantic):
    """The (hw x hw) transition matrix built pixel by pixel from the definition."""
    height, width = boundary.shape
    matrix = torch.zeros(height * width, height * width, dtype=torch.float64)
    for (y, x), (v, u) in itertools.product(
        itertools.product(range(height), range(width)), repeat=2
    ):
        dy, dx = v - y, u - x
        if dy * dy + dx * dx >= radius * radius:
            continue
        if semantic is not None and semantic[y, x] != semantic[v, u]:
            continue
        length = math.hypot(dy, dx)
        highest = 0.0
        for py, px in itertools.product(range(height), range(width)):
            qy, qx = py - y, px - x
            if length == 0:
                distance = math.hypot(qy, qx)
            else:
                t = min(max((qy * dy + qx * dx) / length ** 2, 0.0), 1.0)
                distance = math.hypot(qy - t * dy, qx - t * dx)
            if distance < 1 - 1e-9:
                highest = max(highest, float(boundary[py, px]))
        affinity = 1.0 if length == 0 else (1 - highest) ** beta
        matrix[y * width + x, v * width + u] = affinity
    return matrix / matrix.sum(1, keepdim=True)


@pytest.mark.parametrize("radius", [3, 5])
@pytest.mark.parametrize("with_semantic", [False, True])
def test_random_walk_equals_dense_reference(radius, with_semantic):
    generator = torch.Generator().manual_seed(radius)
    height, width, steps = 6, 7, 9
    boundary = torch.rand(height, width, generator=generator) * 0.8
    semantic = None
    if with_semantic:
        semantic = torch.zeros(height, width, dtype=torch.long)
        semantic[:, 4:] = 2
        semantic[4:, :2] = 255
    weights, offsets = neighbour_affinity(boundary, radius, 2.0, semantic)
    half = sum(1 for y in range(radius) for x in range(1 - radius, radius)
               if x * x + y * y < radius * radius and (y > 0 or x > 0))
    assert weights.shape == (1 + 2 * half, height, width) and offsets.shape == (1 + 2 * half, 2)
    seeds = torch.rand(3, height, width, generator=generator)
    walked = random_walk(seeds, weights, offsets, steps)
    matrix = _dense_reference(boundary, radius, 2.0, semantic)
    expected = seeds.reshape(3, -1).double().t()
    for _ in range(steps):
        expected = matrix @ expected
    expected = expected.t().reshape(3, height, width).float()
    assert torch.allclose(walked, expected, atol=1e-5)
    if with_semantic:  # the walk never crosses a change of semantic class
        one_region = seeds * (semantic == 0)
        assert random_walk(one_region, weights, offsets, steps)[:, semantic != 0].abs().max() == 0


def test_random_walk_offsets_of_radius_five():
    weights, offsets = neighbour_affinity(torch.zeros(8, 8), 5, 10.0)
    assert offsets.shape == (69, 2) and offsets[0].tolist() == [0, 0]
    assert len({tuple(o) for o in offsets.tolist()}) == 69
    assert torch.allclose(weights.sum(0), torch.ones(8, 8))


def test_random_walk_early_stopping_and_zero_seeds():
    generator = torch.Generator().manual_seed(0)
    boundary = torch.rand(20, 24, generator=generator) * 0.5
    weights, offsets = neighbour_affinity(boundary, 5, 10.0)
    seeds = (torch.rand(2, 20, 24, generator=generator) > 0.8).float()
    steps, tol = 256, 1e-3
    full = random_walk(seeds, weights, offsets, steps)
    early = random_walk(seeds, weights, offsets, steps, tol=tol)
    assert (early - full).abs().max() <= tol * steps
    assert not torch.equal(early, full)  # it did stop early
    assert random_walk(torch.zeros(2, 20, 24), weights, offsets, steps).abs().max() == 0
