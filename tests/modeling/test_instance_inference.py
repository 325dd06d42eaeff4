"""InstanceInference on hand-made fields: grouping, the connectivity safeguard, outputs."""
import pytest
import torch

from sisieg.modeling.postprocessing.components import semantic_components
from sisieg.modeling.postprocessing.irnet_grouping import split_by_semantic_components
from sisieg.modeling.postprocessing import InstanceInference

SQUARE = 32  # px; 8 feature pixels, so centroid regions of radius 2.5 stay apart


def two_squares(gap: int):
    """A (96, 96) thing map with two class-1 squares side by side ``gap`` px apart (0 =
    touching), and the ideal stride-4 field pointing every square pixel at its centroid."""
    things = torch.zeros(96, 96, dtype=torch.long)
    lefts = (16, 16 + SQUARE + gap)
    for left in lefts:
        things[32:64, left:left + SQUARE] = 1
    field = torch.zeros(2, 24, 24)
    ys, xs = torch.meshgrid(torch.arange(24.0), torch.arange(24.0), indexing="ij")
    for left in lefts:
        y0, x0 = 8, left // 4
        cy, cx = y0 + 3.5, x0 + 3.5
        inside = (ys >= y0) & (ys < y0 + 8) & (xs >= x0) & (xs < x0 + 8)
        field[0][inside] = (cy - ys)[inside]
        field[1][inside] = (cx - xs)[inside]
    return things, field, lefts


def square_masks(lefts):
    masks = torch.zeros(len(lefts), 96, 96, dtype=torch.bool)
    for k, left in enumerate(lefts):
        masks[k, 32:64, left:left + SQUARE] = True
    return masks


def match(pred, truth):
    """IoU of each true mask with its best predicted mask."""
    inter = (truth[:, None] & pred[None]).flatten(2).sum(-1).float()
    union = (truth[:, None] | pred[None]).flatten(2).sum(-1).float()
    return (inter / union).max(dim=1).values


def test_two_separate_squares_give_two_instances():
    things, field, lefts = two_squares(gap=8)
    result = InstanceInference(use_random_walk=False).displacement(
        field, torch.zeros(24, 24), things, (96, 96), 4
    )
    assert len(result) == 2
    assert torch.equal(match(result.pred_masks, square_masks(lefts)), torch.ones(2))


def test_touching_squares_are_split_by_the_field_but_not_by_connected_components():
    things, field, lefts = two_squares(gap=0)
    inference = InstanceInference(use_random_walk=False)
    result = inference.displacement(field, torch.zeros(24, 24), things, (96, 96), 4)
    assert len(result) == 2
    assert torch.equal(match(result.pred_masks, square_masks(lefts)), torch.ones(2))
    assert len(inference.connected_components(things, (96, 96))) == 1


def test_random_walk_keeps_touching_squares_apart_at_a_boundary():
    things, field, lefts = two_squares(gap=0)
    boundary = torch.zeros(24, 24)
    boundary[8:16, 11] = 1.0  # the contact line, on the left square's side
    result = InstanceInference(walk_steps=64).displacement(field, boundary, things, (96, 96), 4)
    assert len(result) == 2
    assert (match(result.pred_masks, square_masks(lefts)) > 0.8).all()


def test_all_background_gives_zero_instances():
    inference = InstanceInference()
    things = torch.zeros(40, 56, dtype=torch.long)
    result = inference.displacement(torch.zeros(2, 16, 16), torch.zeros(16, 16), things, (80, 112), 4)
    assert len(result) == 0
    assert result.pred_masks.shape == (0, 80, 112)
    assert len(inference.connected_components(things, (80, 112))) == 0


def test_outputs_at_the_original_size_with_fields_and_dtypes():
    things, field, _ = two_squares(gap=8)
    result = InstanceInference().displacement(field, torch.zeros(24, 24), things, (150, 130), 4)
    assert result.image_size == (150, 130)
    assert result.pred_masks.dtype == torch.bool and result.pred_masks.shape[1:] == (150, 130)
    assert result.pred_classes.dtype == torch.long and (result.pred_classes == 0).all()
    assert result.scores.dtype == torch.float32 and torch.isfinite(result.scores).all()
    assert result.pred_boxes.tensor.shape == (len(result), 4)
    assert (result.scores[:-1] >= result.scores[1:]).all()  # highest first


def test_detections_are_capped_highest_scores_first():
    things = torch.zeros(64, 64, dtype=torch.long)
    for k in range(6):  # six separate 8x8 squares
        things[4 + 10 * k:12 + 10 * k, 4:12] = 1
    probs = torch.zeros(2, 64, 64)
    probs[1] = torch.linspace(0.1, 1.0, 64)[:, None]  # lower squares are more confident
    result = InstanceInference(max_detections=3).connected_components(things, (64, 64), probs)
    assert len(result) == 3
    assert result.pred_boxes.tensor[:, 1].min() >= 30  # the three lowest (most confident) squares


def test_split_never_joins_unconnected_regions_and_keeps_orphan_regions():
    things = torch.zeros(12, 12, dtype=torch.long)
    things[1:4, 1:4] = 1  # region a
    things[8:11, 8:11] = 1  # region b, not connected to a
    things[1:4, 8:11] = 2  # region c, no pixel assigned
    assignment = torch.zeros_like(things)
    assignment[1:4, 1:4] = 1
    assignment[8:11, 8:11] = 1  # a field that tries to merge a and b into one instance
    instances, classes = split_by_semantic_components(assignment, *semantic_components(things))
    assert instances.max() == 3
    a, b, c = instances[2, 2], instances[9, 9], instances[2, 9]
    assert len({int(a), int(b), int(c)}) == 3
    assert classes[a] == 1 and classes[b] == 1 and classes[c] == 2
    assert (instances[things == 0] == 0).all()


def test_semantic_components_per_class():
    things = torch.tensor([[1, 1, 2, 2], [0, 0, 0, 0], [1, 0, 1, 1]])
    components, classes = semantic_components(things)
    assert components.max() == 4  # two components of class 1 on the last row, one on the first
    assert sorted(classes[1:].tolist()) == [1, 1, 1, 2]
    assert components[0, 0] == components[0, 1] != components[0, 2]


def test_centroid_threshold_follows_object_scale():
    from sisieg.modeling.postprocessing.irnet_grouping import centroid_thresholds

    things = torch.zeros(40, 40, dtype=torch.long)
    things[0:2, 0:2] = 1  # area 4: radius 1.1 -> floored to the minimum
    things[10:40, 10:40] = 1  # area 900: radius 16.9 -> 0.3 x 16.9 = 5.1, capped at 2.5
    things[4:8, 30:38] = 1  # area 32: radius 3.2 -> 0.96
    components, _ = semantic_components(things)
    threshold = centroid_thresholds(components, 0.3, 0.75, 2.5)
    assert threshold[0, 0] == pytest.approx(0.75)
    assert threshold[20, 20] == pytest.approx(2.5)
    assert threshold[5, 33] == pytest.approx(0.3 * (32 / torch.pi) ** 0.5)
    assert centroid_thresholds(components, 0.0, 0.75, 2.5) == 2.5  # IRNet's constant


def test_objects_too_small_for_the_stride_4_grid_are_not_lost():
    things, field, lefts = two_squares(gap=8)
    things[3:6, 88:94] = 1  # 3x6 px: rows 3-5 fall between the stride-4 samples (rows 2, 6)
    things[70:90, 1] = 1  # a 1 px wide line in column 1 (samples: columns 2, 6, ...)
    result = InstanceInference(use_random_walk=False).displacement(
        field, torch.zeros(24, 24), things, (96, 96), 4
    )
    masks = result.pred_masks
    assert len(result) == 4
    assert masks.any(dim=0).sum() == (things > 0).sum()  # every thing pixel is in an instance
    for region in ((slice(3, 6), slice(88, 94)), (slice(70, 90), slice(1, 2))):
        covering = masks[:, region[0], region[1]].flatten(1).all(dim=1)
        assert covering.sum() == 1  # exactly one instance covers the small object


def test_inside_the_mask_pixels_take_the_best_instance_of_their_own_class():
    inference = InstanceInference()
    scores = torch.tensor([[[0.9, 0.9]], [[0.1, 0.2]]])  # instance 1 (class 2) outscores everywhere
    thing_map = torch.tensor([[1, 2]])
    labels = inference.label_pixels(scores, thing_map, torch.tensor([0, 2, 1]))
    assert labels.tolist() == [[2, 1]]  # the class-1 pixel goes to instance 2, of class 1


def test_an_image_with_only_objects_too_small_for_the_grid_still_gets_them():
    things = torch.zeros(64, 64, dtype=torch.long)
    things[20:40, 1] = 2  # a 1 px wide line that no stride-4 sample hits
    result = InstanceInference().displacement(torch.zeros(2, 16, 16), torch.zeros(16, 16), things, (64, 64), 4)
    assert len(result) == 1 and result.pred_classes.tolist() == [1]
    assert torch.equal(result.pred_masks[0], things > 0)


def test_boxes_areas_and_class_scores_from_the_label_map_match_dense_masks():
    from detectron2.structures import BitMasks
    from sisieg.modeling.labels import label_boxes, label_masks

    generator = torch.Generator().manual_seed(0)
    labels = torch.randint(0, 6, (23, 31), generator=generator)
    labels[labels == 4] = 0  # an id that never occurs: zero box, as BitMasks gives
    dense = label_masks(labels, 5)
    assert torch.equal(label_boxes(labels, 5), BitMasks(dense).get_bounding_boxes().tensor)
    probs = torch.rand(3, 23, 31, generator=generator)  # (K + 1, H, W), channel 0 background
    instance_class = torch.tensor([0, 1, 2, 2, 1, 1])
    expected = torch.stack([
        (probs[instance_class[k]] * dense[k - 1]).sum() / dense[k - 1].sum().clamp(min=1) for k in range(1, 6)
    ])
    got = InstanceInference.class_scores(labels, instance_class, probs, (23, 31))
    assert torch.allclose(got, expected)
