"""Self-training: a model's confident splits of unknown components become instance labels,
everything else stays as the isolated-object rule left it; the mapper trains on them."""
import numpy as np
import pytest
import torch
from detectron2.data import DatasetCatalog

from sisieg.data.composites import UNKNOWN, CompositeSettings, isolated_objects, label_free_ids
from sisieg.data.dataset_mapper import SISegDatasetMapper
from sisieg.data.datasets.shapes import register_shapes_split
from sisieg.data.proxy_labels import proxy_ids, proxy_path, read_proxy_ids, write_proxy_ids
from sisieg.engine import build_config
from sisieg.errors import InputError

SETTINGS = CompositeSettings(share=0.0)


def scene():
    """Class 1: an isolated square (id 1 by the rule); class 2: two squares touching in an L
    (one concave component, unknown to the rule)."""
    semantic = np.zeros((64, 64), np.uint8)
    semantic[4:20, 4:20] = 1
    semantic[30:42, 30:42] = 2
    semantic[42:54, 36:48] = 2
    return semantic


def model_split(semantic):
    """A model's instances: the isolated square (1), and the L cut into its two squares (2, 3)."""
    predicted = np.zeros(semantic.shape, np.int64)
    predicted[4:20, 4:20] = 1
    predicted[30:42, 30:42] = 2
    predicted[42:54, 36:48] = 3
    return predicted


def test_a_confident_split_labels_the_unknown_component_with_its_pieces():
    semantic = scene()
    isolated = isolated_objects(semantic, [1, 2], SETTINGS)
    assert (isolated[30:54, 30:48][semantic[30:54, 30:48] == 2] == UNKNOWN).all()
    ids, counts = proxy_ids(isolated, semantic, model_split(semantic), np.array([0.9, 0.8, 0.7]), 0.5, 20)
    assert (counts.unknown_components, counts.split, counts.new_instances) == (1, 1, 2)
    assert (ids[4:20, 4:20] == 1).all()  # the isolated object keeps its id
    assert (ids[30:42, 30:42] == 2).all() and (ids[42:54, 36:48] == 3).all()
    assert (ids[semantic == 0] == 0).all() and (ids != UNKNOWN).all()


@pytest.mark.parametrize("case", ["low score", "one piece", "not covered", "piece too small"])
def test_an_unconfident_or_partial_split_leaves_the_component_unknown(case):
    semantic = scene()
    isolated = isolated_objects(semantic, [1, 2], SETTINGS)
    predicted = model_split(semantic)
    scores = np.array([0.9, 0.8, 0.7])
    min_area = 20
    if case == "low score":
        scores[2] = 0.2
    elif case == "one piece":
        predicted[predicted == 3] = 2
    elif case == "not covered":
        predicted[42:54, 36:40] = 0
    else:
        min_area = 145  # the pieces have 144 pixels
    ids, counts = proxy_ids(isolated, semantic, predicted, scores, 0.5, min_area)
    assert counts.split == 0 and np.array_equal(ids, isolated)


def test_with_whole_a_component_kept_as_one_confident_instance_is_labelled_too():
    semantic = scene()
    isolated = isolated_objects(semantic, [1, 2], SETTINGS)
    predicted = model_split(semantic)
    predicted[predicted == 3] = 2  # the model keeps the L whole
    scores = np.array([0.9, 0.8, 0.0])
    ids, counts = proxy_ids(isolated, semantic, predicted, scores, 0.5, 20, whole=True)
    assert (counts.split, counts.new_instances) == (1, 1)
    assert (ids[semantic == 2] == 2).all() and (ids[4:20, 4:20] == 1).all()
    unconfident, counts = proxy_ids(isolated, semantic, predicted, np.array([0.9, 0.4, 0.0]), 0.5, 20, whole=True)
    assert counts.split == 0 and np.array_equal(unconfident, isolated)


def test_proxy_ids_survive_the_png_round_trip_and_bad_files_are_named(tmp_path):
    ids = isolated_objects(scene(), [1, 2], SETTINGS)
    path = proxy_path(str(tmp_path), "/data/images/0007.jpg")
    assert path == str(tmp_path / "0007.png")
    write_proxy_ids(path, ids)
    assert np.array_equal(read_proxy_ids(path, ids.shape), ids)
    with pytest.raises(InputError, match="0007.png.*32x32"):
        read_proxy_ids(path, (32, 32))
    with pytest.raises(InputError, match="missing.png not found"):
        read_proxy_ids(str(tmp_path / "missing.png"), ids.shape)


def test_label_free_training_uses_the_given_ids_and_pastes_their_pieces():
    semantic = scene()
    image = np.zeros((64, 64, 3), np.uint8)
    isolated = isolated_objects(semantic, [1, 2], SETTINGS)
    proxies, _ = proxy_ids(isolated, semantic, model_split(semantic), np.ones(3), 0.5, 20)
    rng = np.random.default_rng(0)
    _, _, ids = label_free_ids(image, semantic, [1, 2], None, rng, SETTINGS, ids=proxies)
    assert np.array_equal(ids, proxies)
    pasting = CompositeSettings(share=1.0, pastes=8)
    _, pasted_semantic, pasted = label_free_ids(image, semantic, [1, 2], None, np.random.default_rng(1), pasting, ids=proxies)
    assert pasted.max() > proxies.max()  # new objects pasted, from a pool of 3 known instances
    assert (pasted[pasted_semantic == 0] == 0).all()


def test_mapper_reads_the_proxy_labels_of_each_image(tmp_path):
    register_shapes_split("sisieg_test_proxy", str(tmp_path), "tiny_train", 2, (128, 128), 0)
    records = DatasetCatalog.get("sisieg_test_proxy")
    folder = tmp_path / "proxies"
    planted = {}
    for k, record in enumerate(records):  # a recognisable map per image: ids 7 + k on the things
        from sisieg.data.semantic_io import read_semantic_mask

        semantic = read_semantic_mask(record["sem_seg_file_name"], 5, 255)
        planted[record["file_name"]] = np.where(semantic > 0, 7 + k, 0)
        write_proxy_ids(proxy_path(str(folder), record["file_name"]), planted[record["file_name"]])
    cfg = build_config("configs/shapes/siseg_label_free.yaml", [
        "DATASETS.TRAIN", "('sisieg_test_proxy',)", "INPUT.SISEG.COMPOSITES.PROXY_LABELS", str(folder),
        "INPUT.SISEG.COMPOSITES.SHARE", "0.0", "INPUT.SISEG.SCALE_RANGE", "[1.0, 1.0]", "INPUT.SISEG.HFLIP", "False",
        "INPUT.SISEG.CROP_SIZE", "0"])
    mapper = SISegDatasetMapper(cfg, is_train=True)
    for record in records:
        x = mapper(record)
        assert torch.equal(x["instance_ids"], torch.as_tensor(planted[record["file_name"]]).long())
    cfg.defrost()
    cfg.INPUT.SISEG.COMPOSITES.PROXY_LABELS = str(tmp_path / "none")
    with pytest.raises(InputError, match="tools/proxy_labels.py"):
        SISegDatasetMapper(cfg, is_train=True)(records[0])
    DatasetCatalog.remove("sisieg_test_proxy")
