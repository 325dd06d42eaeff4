"""The perfect heads' targets: exact centroid offsets and boundaries on hand-made instances."""
import pytest
import torch

from sisieg.modeling.targets import boundary_of, centroids, head_targets


def two_instances():
    ids = torch.zeros(1, 8, 12, dtype=torch.long)
    ids[0, 0:4, 0:6] = 1  # centroid (1.5, 2.5)
    ids[0, 2:8, 8:12] = 2  # centroid (4.5, 9.5)
    ids[0, 7, 0] = -1  # unknown: no target
    return ids


def test_centroids_are_the_mean_pixel_of_each_instance():
    table = centroids(two_instances())
    assert torch.equal(table[0, 1], torch.tensor([1.5, 2.5]))
    assert torch.equal(table[0, 2], torch.tensor([4.5, 9.5]))


def test_full_resolution_offsets_point_every_pixel_at_its_centroid():
    ids = two_instances()
    t = head_targets(ids, (8, 12), 1)
    assert torch.equal(t.instances, ids)
    ys, xs = torch.meshgrid(torch.arange(8.0), torch.arange(12.0), indexing="ij")
    landing_y, landing_x = ys + t.offsets[0, 0], xs + t.offsets[0, 1]
    assert torch.equal(landing_y[ids[0] == 1], torch.full(((ids[0] == 1).sum(),), 1.5))
    assert torch.equal(landing_x[ids[0] == 2], torch.full(((ids[0] == 2).sum(),), 9.5))
    assert torch.equal(t.offsets[0, :, ids[0] <= 0], torch.zeros(2, int((ids[0] <= 0).sum())))


@pytest.mark.parametrize("stride", [2, 4])
def test_coarse_offsets_are_in_head_pixels_from_each_head_pixel_centre(stride):
    ids = two_instances()
    t = head_targets(ids, (8 // stride, 12 // stride), stride)
    # head pixel (0, 0) samples input pixel (s/2, s/2), instance 1; its centre is at (s-1)/2
    centre = (stride - 1) / 2
    expected = (torch.tensor([1.5, 2.5]) - centre) / stride
    assert torch.allclose(t.offsets[0, :, 0, 0], expected)
    assert t.instances[0, 0, 0] == 1


def test_boundary_marks_both_sides_of_every_change_of_id():
    ids = torch.tensor([[[1, 1, 2, 2], [1, 1, 2, 2], [0, 0, 0, 0]]])
    assert boundary_of(ids).tolist() == [[[0, 1, 1, 0], [1, 1, 1, 1], [1, 1, 1, 1]]]
