"""Pair offsets, segment paths, pair indices, labels and affinities against hand/naive results."""
import itertools

import pytest
import torch

from sisieg.modeling.pair_sampling import (
    PairSampler,
    half_disk_offsets,
    pair_affinity,
    pair_labels,
    segment_path,
)


def _as_set(points):
    return {tuple(p) for p in points.tolist()}


@pytest.mark.parametrize("radius, count", [(10, 152), (5, 34), (3, 12)])
def test_half_disk_offsets(radius, count):
    offsets = half_disk_offsets(radius)
    assert offsets.shape == (count, 2) and offsets.dtype == torch.long
    half = _as_set(offsets)
    assert len(half) == count
    negatives = {(-dy, -dx) for dy, dx in half}
    assert not half & negatives and (0, 0) not in half
    disk = {(y, x) for y in range(-radius, radius + 1) for x in range(-radius, radius + 1)
            if y * y + x * x < radius * radius}
    assert half | negatives | {(0, 0)} == disk
    assert offsets[: radius - 1].tolist() == [[0, x] for x in range(1, radius)]


def test_segment_path_by_hand():
    assert _as_set(segment_path(0, 3)) == {(0, 0), (0, 1), (0, 2), (0, 3)}
    # (2, 2): |d|² = 8. A point p is kept when 0 <= p.d = 2(py + px) <= 8 and the distance
    # |py - px| / sqrt(2) to the line is < 1, i.e. |py - px| <= 1 and 0 <= py + px <= 4:
    # the diagonal (0,0), (1,1), (2,2) and its neighbours (0,1), (1,0), (1,2), (2,1)
    # (distance 0.707 each); (0,2) and (2,0) are at 1.414, (-1,0) at 1.0 from the end (0,0).
    assert _as_set(segment_path(2, 2)) == {(0, 0), (1, 1), (2, 2), (0, 1), (1, 0), (1, 2), (2, 1)}
    # (1, -2): |d|² = 5, p.d = py - 2 px in [0, 5], cross = -2 py - px, cross² < 5.
    # py = 0: px in {0, -1, -2} (cross 0, 1, 2 -> distance 0, 0.45, 0.89);
    # py = 1: px in {0, -1, -2} (cross -2, -1, 0 -> distance 0.89, 0.45, 0);
    # py = -1 needs px >= 0 for |cross| <= 2 but then p.d < 0; py = 2 gives p.d > 5 or |cross| > 2.
    assert _as_set(segment_path(1, -2)) == {(0, 0), (0, -1), (0, -2), (1, 0), (1, -1), (1, -2)}
    # A segment and its reverse cover the same grid points (shifted by the offset).
    for dy, dx in [(3, -4), (2, 7), (1, 1)]:
        reverse = {(y + dy, x + dx) for y, x in segment_path(-dy, -dx).tolist()}
        assert reverse == _as_set(segment_path(dy, dx))


def test_sampler_paths_padded_with_own_points():
    sampler = PairSampler(5)
    assert sampler.paths.shape[:2] == (34, max(len(segment_path(*o)) for o in sampler.offsets))
    for offset, path in zip(sampler.offsets.tolist(), sampler.paths):
        assert _as_set(path) == _as_set(segment_path(*offset))
        assert tuple(offset) in _as_set(path) and (0, 0) in _as_set(path)
    assert torch.equal(sampler.points[sampler.path_members], sampler.paths)


def test_index_matches_naive_loop():
    height, width, radius = 7, 9, 3
    sampler = PairSampler(radius)
    offsets = sampler.offsets.tolist()
    src_ref, dst_ref = [], [[] for _ in offsets]
    for y, x in itertools.product(range(height), range(width)):
        if all(0 <= y + dy < height and 0 <= x + dx < width for dy, dx in offsets):
            src_ref.append(y * width + x)
            for n, (dy, dx) in enumerate(offsets):
                dst_ref[n].append((y + dy) * width + x + dx)
    src, dst = sampler.index(height, width, "cpu")
    assert src.tolist() == src_ref and dst.tolist() == dst_ref
    assert len(src_ref) == (height - radius + 1) * (width - 2 * (radius - 1))
    assert sampler.index(height, width, "cpu")[0] is src  # cached


def test_index_on_too_small_grid_is_empty():
    src, dst = PairSampler(5).index(3, 20, "cpu")
    assert src.numel() == 0 and dst.shape == (34, 0)


def test_compact_path_points_give_every_path_point_naive():
    height, width = 8, 11
    sampler = PairSampler(4)
    src, _ = sampler.index(height, width, "cpu")
    index = sampler.point_index(height, width, "cpu")[sampler.members("cpu")]  # (N, Lmax, P)
    assert index.shape == (len(sampler), sampler.paths.shape[1], len(src))
    for n, path in enumerate(sampler.paths.tolist()):
        for l, (py, px) in enumerate(path):
            assert index[n, l].tolist() == [int(i) + py * width + px for i in src]


def test_pair_labels_brute_force():
    labels = torch.tensor([
        [0, 0, 1, 1, 1, 0, 2],
        [0, 255, 1, 1, 0, 0, 2],
        [0, 0, 0, 2, 2, 255, 2],
        [1, 1, 0, 2, 2, 0, 0],
        [1, 1, 0, 0, 255, 0, 0],
    ])
    sampler = PairSampler(3)
    pos_fg, pos_bg, neg = pair_labels(labels[None], sampler)
    src, dst = sampler.index(*labels.shape, "cpu")
    flat = labels.reshape(-1).tolist()
    for n in range(len(sampler)):
        for p, i in enumerate(src.tolist()):
            a, b = flat[i], flat[int(dst[n, p])]
            valid = a != 255 and b != 255
            assert bool(pos_fg[0, n, p]) == (valid and a == b and a != 0)
            assert bool(pos_bg[0, n, p]) == (a == 0 and b == 0)
            assert bool(neg[0, n, p]) == (valid and a != b)
            if not valid:  # ignore pixels join no pair
                assert not (pos_fg[0, n, p] or pos_bg[0, n, p] or neg[0, n, p])


def test_pair_affinity_is_one_minus_path_max():
    torch.manual_seed(0)
    boundary = torch.rand(2, 9, 12)
    sampler = PairSampler(4)
    affinity = pair_affinity(boundary, sampler)
    src, dst = sampler.index(9, 12, "cpu")
    assert affinity.shape == (2, len(sampler), len(src))
    values, width = boundary.reshape(2, -1).tolist(), 12
    expected = torch.zeros_like(affinity)
    for n, (dy, dx) in enumerate(sampler.offsets.tolist()):
        path = segment_path(dy, dx).tolist()
        for p, i in enumerate(src.tolist()):
            y, x = divmod(i, width)
            for b in range(2):
                expected[b, n, p] = 1 - max(values[b][(y + py) * width + x + px] for py, px in path)
    assert torch.allclose(affinity, expected)


def test_pair_affinity_chunked_equals_unchunked(monkeypatch):
    import sisieg.modeling.pair_sampling as module

    torch.manual_seed(1)
    boundary = torch.rand(3, 16, 21, requires_grad=True)
    sampler = PairSampler(5)
    full = pair_affinity(boundary, sampler)
    monkeypatch.setattr(module, "_GATHER_BUDGET", 100)  # one offset per chunk
    chunked = pair_affinity(boundary, sampler)
    assert torch.equal(full, chunked)
    chunked.sum().backward()
    assert boundary.grad.abs().sum() > 0
