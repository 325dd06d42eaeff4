"""Packing the random walk's instances into shared channels changes nothing but the cost."""
import torch

from sisieg.modeling.postprocessing.random_walk import neighbour_affinity, random_walk
from sisieg.modeling.postprocessing.walk_packing import channel_assignment, packed_seeds, unpack, walk_regions


def crowded_scene(seed=0):
    """Class map (64, 64) with many blobs of two classes, some 2 px apart (within a walk
    step), some touching, and instances: each blob one instance, one blob split in two."""
    g = torch.Generator().manual_seed(seed)
    things = torch.zeros(64, 64, dtype=torch.long)
    instances = torch.zeros(64, 64, dtype=torch.long)
    k = 0
    for y in range(2, 60, 9):
        for x in range(2, 60, 9):
            k += 1
            things[y:y + 6, x:x + 7] = 1 + (k % 2)
            instances[y:y + 6, x:x + 7] = k
    instances[2:8, 2:5] = k + 1  # blob 1 holds two instances
    boundary = torch.rand(64, 64, generator=g) * 0.5
    return things, instances, k + 1, boundary


def test_walk_regions_join_pixels_a_walk_step_can_link_and_nothing_else():
    things = torch.zeros(20, 40, dtype=torch.long)
    things[5:10, 2:8] = 1
    things[5:10, 11:15] = 1  # 3 px gap: a radius-5 step crosses it
    things[5:10, 30:35] = 1  # 15 px away: never reached
    things[5:10, 16:20] = 2  # next to class 1, another class
    regions = walk_regions(things, radius=5)
    assert regions[6, 3] == regions[6, 12] != regions[6, 31]
    assert regions[6, 17] not in (0, regions[6, 3], regions[6, 31])
    assert (regions[things == 0] == 0).all()


def test_instances_sharing_a_region_get_different_channels():
    things, instances, num, _ = crowded_scene()
    regions = walk_regions(things, 5)
    channel, incidence = channel_assignment(instances, num, regions)
    share = (incidence.float() @ incidence.float().T) > 0
    share.fill_diagonal_(False)
    assert not (share & (channel[:, None] == channel[None])).any()
    assert int(channel.max()) + 1 < num  # far fewer channels than instances


def test_the_packed_walk_equals_one_channel_per_instance():
    things, instances, num, boundary = crowded_scene()
    seeds = (instances[None] == torch.arange(1, num + 1).view(-1, 1, 1)).float() * (1 - boundary)
    weights, offsets = neighbour_affinity(boundary, 5, 10.0, things)
    expected = random_walk(seeds, weights, offsets, 64)
    packed, channel, member = packed_seeds(seeds, instances, things, 5)
    assert packed.shape[0] < num
    got = unpack(random_walk(packed, weights, offsets, 64), channel, member)
    assert torch.allclose(got, expected, atol=1e-6)
