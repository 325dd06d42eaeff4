"""Instance-aware training: exact centroid targets, per-image choice of labels, mapper ids."""
import os

import pytest
import torch
from detectron2.data import DatasetCatalog
from detectron2.modeling import build_model

from sisieg.data.dataset_mapper import SISegDatasetMapper
from sisieg.data.datasets.shapes import register_shapes_split
from sisieg.data.instance_ids import has_instance_labels
from sisieg.engine import build_config
from sisieg.errors import ConfigError, InputError
from sisieg.modeling.postprocessing import InstanceInference
from sisieg.modeling.losses import contact_band, offset_loss
from sisieg.modeling.targets import head_targets
from sisieg.modeling import precision
from sisieg.modeling.meta_arch import PAIR_IGNORE

CONFIG = "configs/shapes/siseg_label_free.yaml"
PAIR_LOSSES_ON = ["MODEL.SISEG.DFM.LOSS_FG_WEIGHT", "1.0", "MODEL.SISEG.DFM.LOSS_BG_WEIGHT", "1.0",
                  "MODEL.SISEG.CBR.LOSS_WEIGHT", "1.0"]  # the recipe trains by the offset loss alone


def test_offset_loss_is_zero_exactly_at_the_targets():
    ids = torch.zeros(1, 4, 6, dtype=torch.long)
    ids[0, 0:2, 0:3] = 1
    ids[0, 1:4, 4] = 2
    ids[0, 3, 0] = PAIR_IGNORE
    targets = head_targets(ids.clamp(min=0), (4, 6), 1)
    assert offset_loss(targets.offsets, targets) == 0
    shifted = targets.offsets + 1.0  # one pixel off in both channels, everywhere
    assert offset_loss(shifted, targets) == pytest.approx(1.0, abs=1e-5)  # mean over (count + 1e-5)


def test_area_power_one_weighs_every_instance_alike():
    ids = torch.zeros(1, 10, 10, dtype=torch.long)
    ids[0, :8, :8] = 1  # 64 pixels
    ids[0, 9, 8:] = 2  # 2 pixels
    targets = head_targets(ids, (10, 10), 1)
    error = targets.offsets.clone()
    error[:, :, 9, 8:] += 4.0  # the small instance 4 px off, the large one exact
    plain = offset_loss(error, targets)
    assert plain == pytest.approx(4.0 * 2 / 66, rel=1e-4)  # a pixel mean: the large object dominates
    assert offset_loss(error, targets, area_power=1.0) == pytest.approx(2.0, rel=1e-4)  # mean of 0 and 4
    half = (4.0 * 2 * 2 ** -0.5) / (64 * 64 ** -0.5 + 2 * 2 ** -0.5)
    assert offset_loss(error, targets, area_power=0.5) == pytest.approx(half, rel=1e-4)


def test_contact_band_marks_pixels_near_another_instance_only():
    ids = torch.zeros(1, 8, 12, dtype=torch.long)
    ids[0, 1:7, 1:5] = 1
    ids[0, 1:7, 5:8] = 2  # touches 1 along column 4 | 5
    ids[0, 1:7, 10:12] = 3  # two background columns from 2
    ids[0, 0, 0] = -1  # unknown pixels are no instance
    band = contact_band(ids, 1)
    expected = torch.zeros(8, 12)
    expected[1:7, 4:6] = 1  # within one pixel of the other instance, on both sides
    assert torch.equal(band[0], expected)
    wide = contact_band(ids, 2)
    assert wide[0, 1:7, 3:7].eq(1).all() and wide[0].sum() == 6 * 4
    wider = contact_band(ids, 3)  # columns 7 and 10 are 3 apart
    assert wider[0, 1:7, 7].eq(1).all() and wider[0, 1:7, 10].eq(1).all() and wider[0, 1:7, 11].eq(0).all()


def test_contact_weight_scales_the_error_near_contacts():
    ids = torch.zeros(1, 6, 10, dtype=torch.long)
    ids[0, :, :5] = 1
    ids[0, :, 5:] = 2
    targets = head_targets(ids, (6, 10), 1)
    error = targets.offsets.clone()
    error[:, :, :, 4:6] += 2.0  # 2 px off on the contact columns only (12 of 60 pixels)
    assert offset_loss(error, targets) == pytest.approx(2.0 * 12 / 60, rel=1e-4)
    weighted = offset_loss(error, targets, contact_weight=3.0, contact_radius=1)
    assert weighted == pytest.approx(2.0 * 12 * 4 / (48 + 12 * 4), rel=1e-4)


def two_touching(instance_ids: bool):
    sem = torch.zeros(128, 128, dtype=torch.long)
    sem[32:96, 16:64] = 1
    sem[32:96, 64:112] = 1
    record = {"image": torch.zeros(3, 128, 128, dtype=torch.uint8), "sem_seg": sem, "file_name": "x"}
    if instance_ids:
        ids = torch.zeros_like(sem)
        ids[32:96, 16:64] = 1
        ids[32:96, 64:112] = 2
        record["instance_ids"] = ids
    return record


@pytest.mark.parametrize("supervision", ["mixed", "instance"])
def test_each_image_gets_its_own_kind_of_pair_labels(supervision):
    cfg = build_config(CONFIG, ["MODEL.SISEG.SUPERVISION", supervision, *PAIR_LOSSES_ON])
    model = build_model(cfg)
    batch = [two_touching(True), two_touching(supervision == "instance")]
    things = torch.zeros(2, 128, 128, dtype=torch.long)
    things[:, 32:96, 16:112] = 1
    use = model._instance_images(batch)
    ids = model._instance_ids(batch, things, use)
    pairs = model._pair_labels(things[:, 2::4, 2::4], ids[:, 2::4, 2::4], use)
    assert set(pairs[0].unique().tolist()) == {0, 1, 2}  # two instances on the first image
    second = {0, 1, 2} if supervision == "instance" else {0, 1}
    assert set(pairs[1].unique().tolist()) == second
    losses = model.train()(batch)
    assert set(losses) == {"loss_dfm_fg", "loss_dfm_bg", "loss_cbr", "loss_dfm_offset"}
    assert all(torch.isfinite(v) for v in losses.values())


def test_instance_supervision_needs_instances_on_every_image():
    model = build_model(build_config(CONFIG, ["MODEL.SISEG.SUPERVISION", "instance"])).train()
    with pytest.raises(InputError, match="instance ids on every training image"):
        model([two_touching(True), two_touching(False)])


def test_semantic_supervision_ignores_instance_ids():
    model = build_model(build_config(CONFIG, ["MODEL.SISEG.SUPERVISION", "semantic", *PAIR_LOSSES_ON])).train()
    things = torch.zeros(1, 128, 128, dtype=torch.long)
    things[:, 32:96, 16:112] = 1
    batch = [two_touching(True)]
    use = model._instance_images(batch)
    assert not use.any()
    assert torch.equal(model._instance_ids(batch, things, use), torch.zeros_like(things))
    assert torch.equal(model._pair_labels(things, torch.zeros_like(things), use), things)
    assert "loss_dfm_offset" not in model([two_touching(True)])


def test_label_free_training_needs_the_mappers_instance_ids():
    model = build_model(build_config(CONFIG, ["MODEL.SISEG.SUPERVISION", "label_free"])).train()
    with pytest.raises(InputError, match="'label_free' needs instance ids on every training image"):
        model([two_touching(False)])
    assert "loss_dfm_offset" in model([two_touching(True)])


def test_mapper_carries_instance_ids_through_the_augmentations(tmp_path):
    register_shapes_split("sisieg_test_instance_ids", str(tmp_path), "tiny_train", 4, (128, 128), 0)
    cfg = build_config(CONFIG, ["MODEL.SISEG.SUPERVISION", "mixed"])
    mapper = SISegDatasetMapper(cfg, is_train=True)
    for record in DatasetCatalog.get("sisieg_test_instance_ids"):
        x = mapper(record)
        assert x["instance_ids"].shape == x["sem_seg"].shape
        assert torch.equal(x["instance_ids"] > 0, x["sem_seg"] > 0)  # they partition the things
        assert x["instance_ids"].max() == len(record["annotations"]) or x["image"].shape[-1] < 128
    DatasetCatalog.remove("sisieg_test_instance_ids")


def test_instance_label_fraction_is_a_fixed_choice():
    records = [{"file_name": f"img_{k}.png"} for k in range(2000)]
    chosen = [has_instance_labels(r, 0.1) for r in records]
    assert 0.07 < sum(chosen) / len(chosen) < 0.13
    assert chosen == [has_instance_labels(r, 0.1) for r in records]
    assert all(has_instance_labels(r, 1.0) for r in records[:10])
    # the same images wherever the dataset lies: the choice reads the base name, not the folder
    for root in ("datasets/sisieg_shapes/train/images", "/tmp/pytest-7/test_x0/tiny_train/images"):
        assert chosen == [has_instance_labels({"file_name": os.path.join(root, r["file_name"])}, 0.1) for r in records]


def test_connectivity_safeguard_stops_a_field_that_merges_separate_objects():
    things = torch.zeros(96, 96, dtype=torch.long)
    things[16:48, 8:40] = 1
    things[56:88, 56:88] = 1  # not connected to the first
    field = torch.zeros(2, 24, 24)
    ys, xs = torch.meshgrid(torch.arange(24.0), torch.arange(24.0), indexing="ij")
    things[44:52, 44:52] = 1  # a small object at that spot, so a centroid region exists there
    field[0], field[1] = 12 - ys, 12 - xs  # everything points at one spot between them
    field = field * (things[2::4, 2::4] > 0)  # the head grid samples pixels 4j + 2
    on = InstanceInference(grouping="irnet", centroid_threshold=2.5)
    off = InstanceInference(grouping="irnet", split_by_semantic_connectivity=False)
    votes = InstanceInference(grouping="votes")
    assert len(off.displacement(field, torch.zeros(24, 24), things, (96, 96), 4)) == 1
    assert len(on.displacement(field, torch.zeros(24, 24), things, (96, 96), 4)) == 3
    assert len(votes.displacement(field, torch.zeros(24, 24), things, (96, 96), 4)) == 3


def test_a_supervision_with_every_loss_weighted_zero_is_a_config_error():
    with pytest.raises(ConfigError, match="nothing would learn"):
        build_model(build_config(CONFIG, ["MODEL.SISEG.SUPERVISION", "semantic"]))
    with pytest.raises(ConfigError, match="LOSS_OFFSET_WEIGHT"):
        build_model(build_config(CONFIG, ["MODEL.SISEG.DFM.LOSS_OFFSET_WEIGHT", "0.0"]))


def test_bfloat16_training_runs_the_networks_in_bfloat16_and_the_losses_in_float32():
    torch.manual_seed(0)
    full = build_model(build_config(CONFIG)).train()
    half = build_model(build_config(CONFIG, ["MODEL.SISEG.TRAIN_PRECISION", "bfloat16"])).train()
    full.train_precision = "float32"  # the config's "auto" may be either
    half.load_state_dict(full.state_dict())
    batch = [two_touching(True)]
    reference = full(batch)["loss_dfm_offset"]
    loss = half(batch)["loss_dfm_offset"]
    assert loss.dtype == torch.float32 and reference.dtype == torch.float32
    assert loss != reference  # the networks did run at the lower precision ...
    assert float(loss) == pytest.approx(float(reference), rel=0.02)  # ... and give the same loss to bf16's precision
    loss.backward()
    grads = [p.grad for p in half.parameters() if p.grad is not None]
    assert grads and all(g.dtype == torch.float32 and torch.isfinite(g).all() for g in grads)


@pytest.mark.parametrize("native", [True, False])
def test_auto_precision_takes_bfloat16_only_where_the_device_has_it(monkeypatch, native):
    monkeypatch.setattr(precision, "native_bfloat16", lambda device: native)
    assert precision.autocast_dtype("auto", torch.device("cpu")) == (torch.bfloat16 if native else None)
    assert precision.autocast_dtype("bfloat16", torch.device("cpu")) == torch.bfloat16
    assert precision.autocast_dtype("float32", torch.device("cpu")) is None
    torch.manual_seed(0)
    full = build_model(build_config(CONFIG, ["MODEL.SISEG.TRAIN_PRECISION", "float32"])).train()
    auto = build_model(build_config(CONFIG, ["MODEL.SISEG.TRAIN_PRECISION", "auto"])).train()
    auto.load_state_dict(full.state_dict())
    batch = [two_touching(True)]
    same = bool(auto(batch)["loss_dfm_offset"] == full(batch)["loss_dfm_offset"])
    assert same != native  # float32 exactly where bfloat16 is not native


def test_an_unknown_training_precision_is_a_config_error_naming_the_choices():
    with pytest.raises(ConfigError, match="TRAIN_PRECISION must be one of .*'bfloat16'.*got 'float16'"):
        build_model(build_config(CONFIG, ["MODEL.SISEG.TRAIN_PRECISION", "float16"]))
