"""The centre heatmap head: exact targets on hand-made instances, its loss, the peaks, the modes
they give the votes grouping, and the grouping with perfect heads through the peaks."""
import math

import pytest
import torch
from detectron2.modeling import build_model

from sisieg.engine import build_config
from sisieg.errors import ConfigError
from sisieg.modeling.heads.center_heatmap import center_focal_loss, heatmap_targets
from sisieg.modeling.postprocessing import InstanceInference
from sisieg.modeling.postprocessing.center_peaks import find_peaks, modes_from_peaks
from sisieg.modeling.targets import head_targets

CONFIG = "configs/shapes/siseg_instance.yaml"


def squares():
    """Two touching squares (ids 1, 2) and an unknown blob (-1) on a 32x32 grid."""
    ids = torch.zeros(1, 32, 32, dtype=torch.long)
    ids[0, 4:12, 4:12] = 1  # centroid (7.5, 7.5)
    ids[0, 4:12, 12:20] = 2  # centroid (7.5, 15.5)
    ids[0, 28:32, 28:32] = -1
    return ids


def test_targets_are_one_at_the_nearest_pixel_and_gaussian_around_it():
    target, ignore = heatmap_targets(squares(), (32, 32), 1, 2.0)
    assert target.shape == (1, 32, 32)
    ones = torch.nonzero(target[0] == 1).tolist()
    assert ones == [[8, 8], [8, 16]]  # round half to even: 7.5 -> 8, 15.5 -> 16
    # (8, 11) lies 3.5 px across and 0.5 down from centroid 1 and 4.5 / 0.5 from centroid 2: the larger
    expected = max(math.exp(-(3.5 ** 2 + 0.5 ** 2) / 8), math.exp(-(4.5 ** 2 + 0.5 ** 2) / 8))
    assert target[0, 8, 11].item() == pytest.approx(expected, rel=1e-5)
    assert target[0, 30, 2] == 0  # far from every centre
    assert ignore[0, 30, 30] and ignore[0, 24, 24] and not ignore[0, 8, 8]  # unknown: within 3 sigma


def test_targets_on_a_coarse_grid_measure_distances_in_input_pixels():
    target, _ = heatmap_targets(squares(), (8, 8), 4, 4.0)
    # centroid 2 (7.5, 15.5) lies at grid (1.5, 3.5): its nearest pixel is (2, 4) (half to even);
    # grid pixel (1, 4) has its centre at input (5.5, 17.5), 2 px down and across from it
    assert target[0, 2, 4] == 1 and (target[0] == 1).sum() == 2
    assert target[0, 1, 4].item() == pytest.approx(math.exp(-8 / 32), rel=1e-5)


def test_focal_loss_vanishes_at_the_targets_and_ignores_what_it_should():
    target, ignore = heatmap_targets(squares(), (32, 32), 1, 2.0)
    exact = torch.where(target >= 1, 30.0, -30.0)
    assert center_focal_loss(exact, target, ignore) < 1e-6
    wrong = torch.where(target >= 1, -30.0, 30.0)
    assert center_focal_loss(wrong, target, ignore) > 10
    # a confident centre on ignored pixels costs nothing
    spurious = exact.clone()
    spurious[0, 30, 30] = 30.0
    assert center_focal_loss(spurious, target, ignore) < 1e-6


def test_peaks_are_local_maxima_above_the_threshold_one_per_plateau():
    heat = torch.zeros(16, 16)
    heat[3, 4] = 0.9
    heat[10, 10:12] = 0.6  # a flat top of two pixels: one peak
    heat[14, 2] = 0.2  # below the threshold
    peaks = find_peaks(heat, (16, 16), 1.0, 0.3, 2)
    assert peaks.shape == (2, 2)
    assert peaks[0].tolist() == [3.0, 4.0] and peaks[1, 0] == 10 and peaks[1, 1] in (10, 11)


def test_a_component_takes_only_the_peaks_its_votes_reach():
    endpoints = torch.tensor([[5.0] * 20 + [20.0] * 20, [5.0] * 20 + [20.0] * 20])  # (2, V)
    component = torch.tensor([1] * 20 + [2] * 20)
    peaks = torch.tensor([[5.0, 6.0], [20.0, 20.0], [40.0, 40.0]])
    modes = modes_from_peaks(endpoints, component, peaks, 1, 16.0, 4.0)
    assert modes.component.tolist() == [1, 2]
    assert modes.position.tolist() == [[5.0, 6.0], [20.0, 20.0]]
    assert len(modes_from_peaks(endpoints, component, peaks, 1, 21.0, 4.0).component) == 0  # min mass


def test_perfect_field_and_heatmap_give_the_touching_squares_exactly():
    ids = squares()[0].clamp(min=0)
    things = (ids > 0).long()
    targets = head_targets(ids[None], (32, 32), 1)
    heat, _ = heatmap_targets(ids[None], (8, 8), 4, 4.0)
    result = InstanceInference(grouping="votes", min_area=1).displacement(
        targets.offsets[0], targets.boundary[0], things, (32, 32), 1, center=heat[0], center_stride=4
    )
    predicted = sorted(tuple(torch.nonzero(m).flatten().tolist()) for m in result.pred_masks)
    truth = sorted(tuple(torch.nonzero(ids == k).flatten().tolist()) for k in (1, 2))
    assert predicted == truth


def test_no_peak_leaves_the_component_one_instance():
    ids = squares()[0].clamp(min=0)
    things = (ids > 0).long()
    targets = head_targets(ids[None], (32, 32), 1)
    result = InstanceInference(grouping="votes", min_area=1).displacement(
        targets.offsets[0], targets.boundary[0], things, (32, 32), 1, center=torch.zeros(8, 8), center_stride=4
    )
    assert len(result) == 1 and result.pred_masks[0].sum() == (ids > 0).sum()


def test_center_options_are_checked():
    with pytest.raises(KeyError, match=r"CENTER.NAME='nope' is not registered; the choices are \['heatmap'\]"):
        build_model(build_config(CONFIG, ["MODEL.SISEG.CENTER.NAME", "nope"]))
    with pytest.raises(ConfigError, match="GROUPING"):
        build_model(build_config(CONFIG, ["MODEL.SISEG.CENTER.NAME", "heatmap", "MODEL.SISEG.GROUPING", "irnet"]))
    with pytest.raises(ConfigError, match="instance ids"):
        build_model(build_config(CONFIG, ["MODEL.SISEG.CENTER.NAME", "heatmap", "MODEL.SISEG.SUPERVISION", "semantic",
                                          "MODEL.SISEG.DFM.LOSS_FG_WEIGHT", "1.0"]))
    assert build_model(build_config("configs/shapes/siseg_label_free.yaml", [])).center_head is None
    assert build_model(build_config(CONFIG, [])).center_head is not None  # the instance recipe has one


def test_the_model_trains_the_center_head_and_uses_its_peaks():
    cfg = build_config(CONFIG, [])
    model = build_model(cfg)
    ids = torch.zeros(64, 64, dtype=torch.long)
    ids[10:30, 10:30], ids[10:30, 30:50] = 1, 2
    sem = (ids > 0).long()
    record = {"image": torch.zeros(3, 64, 64, dtype=torch.uint8), "sem_seg": sem, "instance_ids": ids,
              "height": 64, "width": 64, "file_name": "x"}
    losses = model([record])
    assert losses["loss_center"] > 0
    losses["loss_center"].backward()
    assert model.center_head.predictor.weight.grad.abs().sum() > 0
    model.eval()
    traces = [{}]
    with torch.no_grad():
        model.inference([record], traces)
    assert traces[0]["center"].shape == (16, 16)
