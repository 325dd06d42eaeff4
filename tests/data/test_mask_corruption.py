"""Training-time mask corruption: deterministic under a seed, ids in range, each operation
doing what it names."""
import numpy as np
import pytest
import torch
from detectron2.data import DatasetCatalog

from sisieg.data.dataset_mapper import SISegDatasetMapper
from sisieg.data.datasets.shapes import register_shapes_split
from sisieg.data.mask_corruption import CORRUPTIONS, CorruptionSettings, corrupt_mask
from sisieg.engine import build_config
from sisieg.errors import ConfigError

THINGS = [1, 2, 3]
IGNORE = 255


def scene():
    """96x96: a 30x30 square of class 1, a touching 20x30 block of class 2, a disc of class 3,
    a strip of ignore."""
    mask = np.zeros((96, 96), np.uint8)
    mask[10:40, 10:40] = 1
    mask[10:40, 40:60] = 2
    ys, xs = np.mgrid[0:96, 0:96]
    mask[(ys - 70) ** 2 + (xs - 70) ** 2 <= 12 ** 2] = 3
    mask[90:, :] = IGNORE
    return mask


def only(op, **changes) -> CorruptionSettings:
    """Settings that always apply ``op``."""
    base = CorruptionSettings((op,), 1.0, 3, 3, (6.0, 12.0), 1.0, 3.0)
    return base._replace(**changes)


@pytest.mark.parametrize("op", CORRUPTIONS)
def test_each_corruption_is_deterministic_under_a_seed_and_keeps_ids_in_range(op):
    mask = scene()
    first = corrupt_mask(mask, np.random.default_rng(7), only(op), THINGS, IGNORE)
    again = corrupt_mask(mask, np.random.default_rng(7), only(op), THINGS, IGNORE)
    assert np.array_equal(first, again)
    assert not np.array_equal(first, mask), f"{op} changed nothing"
    assert set(np.unique(first)) <= {0, IGNORE, *THINGS}
    assert first.dtype == mask.dtype and first.shape == mask.shape
    others = [corrupt_mask(mask, np.random.default_rng(seed), only(op), THINGS, IGNORE) for seed in range(8)]
    assert any(not np.array_equal(o, first) for o in others), f"{op} ignores its generator"
    if op != "jitter":  # only the warp moves the ignored pixels
        assert np.array_equal(first == IGNORE, mask == IGNORE)


def test_holes_only_turn_thing_pixels_into_background_and_blobs_only_paint_background():
    mask = scene()
    holes = corrupt_mask(mask, np.random.default_rng(1), only("holes"), THINGS, IGNORE)
    changed = holes != mask
    assert changed.any() and (holes[changed] == 0).all() and np.isin(mask[changed], THINGS).all()
    blobs = corrupt_mask(mask, np.random.default_rng(1), only("blobs"), THINGS, IGNORE)
    changed = blobs != mask
    assert changed.any() and (mask[changed] == 0).all() and np.isin(blobs[changed], THINGS).all()


def test_erosion_shrinks_and_dilation_grows_the_things_by_at_most_the_radius():
    mask = scene()
    areas = set()
    for seed in range(6):  # both directions are drawn
        out = corrupt_mask(mask, np.random.default_rng(seed), only("erode_dilate", radius=2), THINGS, IGNORE)
        changed = out != mask
        thing_before, thing_after = np.isin(mask, THINGS), np.isin(out, THINGS)
        areas.add(np.sign(int(thing_after.sum()) - int(thing_before.sum())))
        if thing_after.sum() < thing_before.sum():  # erosion: things -> background only
            assert (out[changed] == 0).all()
        else:  # dilation: background -> things only
            assert (mask[changed] == 0).all()
        ys, xs = np.nonzero(changed)  # every change lies within 2 px of a thing/background edge
        edge = np.isin(mask, THINGS) != np.isin(np.roll(mask, 1, 0), THINGS)
        edge |= np.isin(mask, THINGS) != np.isin(np.roll(mask, 1, 1), THINGS)
        ey, ex = np.nonzero(edge)
        near = np.min(np.abs(ys[:, None] - ey[None]) + np.abs(xs[:, None] - ex[None]), axis=1)
        assert near.max() <= 2 * 2 + 1
    assert areas == {-1, 1}


def test_class_swap_recolours_whole_connected_regions_and_keeps_their_pixels():
    mask = scene()
    out = corrupt_mask(mask, np.random.default_rng(3), only("class_swap"), THINGS, IGNORE)
    assert np.array_equal(np.isin(out, THINGS), np.isin(mask, THINGS))
    # the touching square and block form one region: one class now; the disc another region
    assert len(np.unique(out[10:40, 10:60])) == 1
    assert len(np.unique(out[(np.mgrid[0:96, 0:96][0] - 70) ** 2 + (np.mgrid[0:96, 0:96][1] - 70) ** 2 <= 100])) == 1


def test_jitter_moves_pixels_by_at_most_its_amplitude():
    mask = scene()
    out = corrupt_mask(mask, np.random.default_rng(5), only("jitter", jitter=2.0), THINGS, IGNORE)
    changed = np.argwhere(out != mask)
    assert len(changed)
    for y, x in changed[:: max(1, len(changed) // 50)]:  # a sample of the changed pixels
        window = mask[max(0, y - 3): y + 4, max(0, x - 3): x + 4]
        assert out[y, x] in window  # its new label lies within 2 px (rounded): no label from afar


def test_unknown_operation_is_a_config_error_naming_the_choices():
    cfg = build_config("configs/shapes/siseg_label_free.yaml", ["INPUT.SISEG.MASK_CORRUPTION.OPS", "['holes', 'warp']"])
    with pytest.raises(ConfigError, match="warp.*jitter"):
        SISegDatasetMapper(cfg, is_train=True)


def test_mapper_shows_the_corrupted_mask_and_keeps_the_true_one_for_the_targets(tmp_path):
    register_shapes_split("sisieg_test_corruption", str(tmp_path), "tiny_train", 3, (96, 96), 0)
    common = ["DATASETS.TRAIN", "('sisieg_test_corruption',)", "MODEL.SISEG.SUPERVISION", "instance"]
    plain = SISegDatasetMapper(build_config("configs/shapes/siseg_label_free.yaml", common), is_train=True)
    corrupting = SISegDatasetMapper(build_config("configs/shapes/siseg_label_free.yaml", common + [
        "INPUT.SISEG.MASK_CORRUPTION.OPS", "['erode_dilate', 'blobs']",
        "INPUT.SISEG.MASK_CORRUPTION.PROBABILITY", "1.0"]), is_train=True)
    for record in DatasetCatalog.get("sisieg_test_corruption"):
        np.random.seed(0)
        x = plain(record)
        np.random.seed(0)
        y = corrupting(record)
        assert "input_sem_seg" not in x
        assert torch.equal(x["sem_seg"], y["sem_seg"]) and torch.equal(x["instance_ids"], y["instance_ids"])
        assert y["input_sem_seg"].shape == y["sem_seg"].shape and not torch.equal(y["input_sem_seg"], y["sem_seg"])
    DatasetCatalog.remove("sisieg_test_corruption")
