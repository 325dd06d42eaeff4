"""Label-free instance targets: isolated objects and pasted composites, from semantic masks only."""
import logging
from dataclasses import replace

import numpy as np
import pytest
import torch
from detectron2.data import DatasetCatalog

from sisieg.data.composites import (
    UNKNOWN, CompositeSettings, candidates, compose, isolated_objects, label_free_ids, solidity,
)
from sisieg.data.dataset_mapper import SISegDatasetMapper
from sisieg.data.datasets.shapes import register_shapes_split
from sisieg.engine import build_config

CONFIG = "configs/shapes/siseg_label_free.yaml"
SETTINGS = CompositeSettings(share=1.0, pastes=6)


def two_blobs_and_a_pair():
    """Class 1: an isolated square and a disk; class 2: two squares touching (one component)."""
    semantic = np.zeros((64, 64), np.uint8)
    semantic[4:20, 4:20] = 1
    ys, xs = np.mgrid[:64, :64]
    semantic[(ys - 45) ** 2 + (xs - 15) ** 2 <= 64] = 1
    semantic[30:42, 30:42] = 2
    semantic[42:54, 36:48] = 2  # touches the square above: an L-shaped, concave component
    image = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    return image, semantic


def test_solidity_is_one_for_convex_objects_and_rings_and_low_for_touching_pairs():
    square = np.zeros((30, 30), bool)
    square[5:25, 5:25] = True
    ring = square.copy()
    ring[10:20, 10:20] = False
    pair = np.zeros((30, 30), bool)
    pair[0:12, 0:12] = True
    pair[12:24, 8:20] = True
    assert solidity(square) == pytest.approx(1.0, abs=0.02)
    assert solidity(ring) == pytest.approx(1.0, abs=0.02)
    assert solidity(pair) < 0.8


def test_isolated_objects_are_instances_and_merged_components_unknown():
    _, semantic = two_blobs_and_a_pair()
    ids = isolated_objects(semantic, [1, 2], SETTINGS)
    assert set(np.unique(ids[semantic == 1])) == {1, 2}  # the square and the disk
    assert set(np.unique(ids[semantic == 2])) == {UNKNOWN}  # the touching pair is not trusted
    assert (ids[semantic == 0] == 0).all()


def test_composite_ids_are_exact_and_its_semantic_mask_is_their_union():
    image, semantic = two_blobs_and_a_pair()
    ids = isolated_objects(semantic, [1, 2], SETTINGS)
    pool = candidates(image, semantic, ids)
    new_image, new_semantic, new_ids = compose(image, semantic, ids, pool, np.random.default_rng(3), SETTINGS)
    assert new_ids.max() > ids.max()  # objects were pasted
    for k in range(1, int(new_ids.max()) + 1):  # each instance: one class, its own pixels
        classes = np.unique(new_semantic[new_ids == k])
        assert len(classes) <= 1
    assert ((new_ids != 0) == (new_semantic > 0)).all()  # things = instances + unknown
    pasted = new_ids > ids.max()
    assert not np.array_equal(new_image[pasted], image[pasted])  # pixels came with the objects
    untouched = new_ids == ids
    assert (new_semantic[untouched] == semantic[untouched]).all()


def test_added_light_brightens_overlaps_and_keeps_pastes_on_the_background_as_they_are():
    """BLEND "add" (fluorescence): a pasted object's light adds to what it lands on, over the
    background level; on the background it looks as it did in its own scene."""
    semantic = np.zeros((48, 48), np.uint8)
    semantic[10:30, 10:30] = 1
    image = np.full((48, 48, 3), 10, np.uint8)
    image[semantic == 1] = 60  # a nucleus 50 over the background
    ids = (semantic == 1).astype(np.int32)
    piece = np.full((20, 20, 3), 90, np.uint8)  # a brighter nucleus, 80 over its background
    pool = candidates(piece, np.ones((20, 20), np.uint8), np.ones((20, 20), np.int32))
    adding = CompositeSettings(share=1.0, pastes=1, pastes_per_object=0.0, contact=(0.6, 0.6), scale_range=(1, 1),
                               blend="add")
    covering = replace(adding, blend="cover")
    added, _, new_ids = compose(image, semantic, ids, pool, np.random.default_rng(0), adding)
    covered, _, same_ids = compose(image, semantic, ids, pool, np.random.default_rng(0), covering)
    assert np.array_equal(new_ids, same_ids)  # the blend changes pixels, never labels
    pasted = new_ids == 2
    overlap, alone = pasted & (semantic == 1), pasted & (semantic == 0)
    assert overlap.any() and alone.any()
    assert (added[overlap] == 60 + 90 - 10).all() and (covered[overlap] == 90).all()
    assert (added[alone] == 90).all() and (covered[alone] == 90).all()
    assert np.array_equal(added[~pasted], image[~pasted])
    with pytest.raises(ValueError, match="COMPOSITES.BLEND must be one of"):
        CompositeSettings(blend="over")


def test_a_fixed_seed_gives_the_same_composite():
    image, semantic = two_blobs_and_a_pair()
    first = label_free_ids(image, semantic, [1, 2], None, np.random.default_rng(7), SETTINGS)
    second = label_free_ids(image, semantic, [1, 2], None, np.random.default_rng(7), SETTINGS)
    assert all(np.array_equal(a, b) for a, b in zip(first, second))


def test_no_isolated_object_falls_back_with_a_warning(caplog):
    image, semantic = two_blobs_and_a_pair()
    semantic[semantic == 1] = 0  # only the touching pair is left
    with caplog.at_level(logging.WARNING):
        _, new_semantic, ids = label_free_ids(image, semantic, [1, 2], None, np.random.default_rng(0), SETTINGS)
    assert "no isolated object to paste" in caplog.text
    assert np.array_equal(new_semantic, semantic) and set(np.unique(ids)) == {0, UNKNOWN}


class Untouchable:
    """Annotations that fail the test the moment anything reads them."""

    def __deepcopy__(self, memo):
        return self

    def __getattr__(self, name):
        raise AssertionError(f"label-free training read the instance annotations ({name})")

    def __iter__(self):
        raise AssertionError("label-free training read the instance annotations")

    def __len__(self):
        raise AssertionError("label-free training read the instance annotations")


def test_label_free_mapper_never_reads_instance_annotations(tmp_path):
    register_shapes_split("sisieg_test_label_free", str(tmp_path), "tiny_train", 4, (128, 128), 0)
    cfg = build_config(CONFIG, ["MODEL.SISEG.SUPERVISION", "label_free", "DATASETS.TRAIN", "('sisieg_test_label_free',)"])
    mapper = SISegDatasetMapper(cfg, is_train=True)
    np.random.seed(0)
    for record in DatasetCatalog.get("sisieg_test_label_free"):
        record = dict(record, annotations=Untouchable())
        x = mapper(record)
        assert x["instance_ids"].shape == x["sem_seg"].shape
        assert torch.equal(x["instance_ids"] != 0, x["sem_seg"] > 0)
        assert "annotations" not in x
    DatasetCatalog.remove("sisieg_test_label_free")


def test_mixed_mapper_labels_its_fraction_from_annotations_and_the_rest_label_free(tmp_path):
    from sisieg.data.instance_ids import has_instance_labels, instance_id_map

    register_shapes_split("sisieg_test_mixed", str(tmp_path), "tiny_train", 8, (128, 128), 0)
    cfg = build_config(CONFIG, ["MODEL.SISEG.SUPERVISION", "mixed", "INPUT.SISEG.INSTANCE_LABEL_FRACTION", "0.5",
                                "DATASETS.TRAIN", "('sisieg_test_mixed',)", "INPUT.SISEG.SCALE_RANGE", "[1.0, 1.0]",
                                "INPUT.SISEG.HFLIP", "False", "INPUT.SISEG.CROP_SIZE", "0"])
    mapper = SISegDatasetMapper(cfg, is_train=True)
    records = DatasetCatalog.get("sisieg_test_mixed")
    labelled = [has_instance_labels(r, 0.5) for r in records]
    assert any(labelled) and not all(labelled)
    for record, keeps_labels in zip(records, labelled):
        if keeps_labels:  # its own annotations, exactly
            x = mapper(record)
            expected = instance_id_map(record["annotations"], record["height"], record["width"])
            assert torch.equal(x["instance_ids"], torch.as_tensor(expected).long())
        else:  # label-free: the annotations stay unread
            x = mapper(dict(record, annotations=Untouchable()))
            assert torch.equal(x["instance_ids"] != 0, x["sem_seg"] > 0)
    DatasetCatalog.remove("sisieg_test_mixed")


def test_labelled_composites_paste_annotated_instances_with_exact_ids(tmp_path):
    from sisieg.data.instance_ids import has_instance_labels, instance_id_map

    register_shapes_split("sisieg_test_labelled", str(tmp_path), "tiny_train", 6, (128, 128), 0)
    fixed = ["DATASETS.TRAIN", "('sisieg_test_labelled',)", "INPUT.SISEG.SCALE_RANGE", "[1.0, 1.0]",
             "INPUT.SISEG.HFLIP", "False", "INPUT.SISEG.CROP_SIZE", "0", "INPUT.SISEG.COMPOSITES.SHARE", "1.0",
             "INPUT.SISEG.COMPOSITES.LABELLED", "True"]
    mapper = SISegDatasetMapper(build_config(CONFIG, ["MODEL.SISEG.SUPERVISION", "instance", *fixed]), is_train=True)
    records = DatasetCatalog.get("sisieg_test_labelled")
    assert len(mapper.donors) == len(records) and all("annotations" in d for d in mapper.donors)
    np.random.seed(0)
    for record in records:
        annotated = instance_id_map(record["annotations"], record["height"], record["width"])
        x = mapper(record)
        ids, semantic = x["instance_ids"], x["sem_seg"]
        assert ids.max() > annotated.max()  # instances were pasted, with new ids
        assert torch.equal(ids != 0, semantic > 0)  # every thing pixel has its exact instance
        for k in torch.unique(ids[ids > 0]):
            assert torch.unique(semantic[ids == k]).numel() == 1  # one class an instance
        kept = ids == torch.as_tensor(annotated).long()  # the annotated instances left uncovered
        assert kept[torch.as_tensor(annotated) > 0].any()
    # without LABELLED the instance mapper is unchanged: no composites, no donors
    plain = SISegDatasetMapper(build_config(CONFIG, ["MODEL.SISEG.SUPERVISION", "instance", *fixed[:-2]]), is_train=True)
    assert plain.composites is None and not plain.donors
    # label-free composites never receive annotations, LABELLED or not
    free = SISegDatasetMapper(build_config(CONFIG, ["MODEL.SISEG.SUPERVISION", "label_free", *fixed]), is_train=True)
    assert free.donors and not any("annotations" in d for d in free.donors)
    # instance supervision on a labelled fraction: the other images stay without instance ids
    half = SISegDatasetMapper(build_config(CONFIG, ["MODEL.SISEG.SUPERVISION", "instance", *fixed,
                                                    "INPUT.SISEG.INSTANCE_LABEL_FRACTION", "0.5"]), is_train=True)
    unlabelled = [r for r in records if not has_instance_labels(r, 0.5)]
    assert unlabelled and all("instance_ids" not in half(r) for r in unlabelled)
    DatasetCatalog.remove("sisieg_test_labelled")
