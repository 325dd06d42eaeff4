"""COCO json + semantic PNG loading, and registration of the shapes splits."""
import json
import os

import pytest

import sisieg.data  # noqa: I001  (first: puts Detectron2's ops in place, registers datasets)
from detectron2.data import DatasetCatalog, MetadataCatalog
from detectron2.structures import BoxMode
from sisieg.data import dataset_root
from sisieg.data.datasets import (
    SHAPES_SPLITS,
    load_coco_semantic,
    register_coco_semantic,
    register_shapes_split,
    touching_annotation_ids,
)
from sisieg.data.synthetic import SHAPE_CLASSES, generate_split, split_paths

METADATA_KEYS = (
    "thing_classes",
    "stuff_classes",
    "thing_colors",
    "stuff_colors",
    "ignore_label",
    "evaluator_type",
    "json_file",
    "image_root",
    "sem_seg_root",
    "touching_flag",
    "thing_dataset_id_to_contiguous_id",
)


@pytest.fixture
def registered():
    """Names registered by a test, removed from both catalogs afterwards."""
    names = []
    yield names
    for name in names:
        DatasetCatalog.remove(name)
        MetadataCatalog.remove(name)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("coco_semantic")
    generate_split(root, "tiny", 4, (64, 64), seed=0, progress=False)
    return split_paths(root, "tiny")


def test_builtin_shapes_splits_are_registered():
    assert {"sisieg_shapes_train", "sisieg_shapes_val"} <= set(DatasetCatalog.list())
    assert {"sisieg_shapes_tiny_train", "sisieg_shapes_tiny_val"} <= set(DatasetCatalog.list())
    assert SHAPES_SPLITS["sisieg_shapes_train"] == ("train", 600, (256, 256), 0)
    assert SHAPES_SPLITS["sisieg_shapes_val"] == ("val", 100, (256, 256), 1)
    assert SHAPES_SPLITS["sisieg_shapes_tiny_train"][1:3] == (12, (128, 128))
    assert SHAPES_SPLITS["sisieg_shapes_tiny_val"][1:3] == (6, (128, 128))
    meta = MetadataCatalog.get("sisieg_shapes_train")
    assert all(hasattr(meta, key) for key in METADATA_KEYS)


def test_registered_tiny_split_is_generated_on_first_use(tmp_path, registered):
    registered.append("test_shapes_tiny")
    register_shapes_split("test_shapes_tiny", tmp_path, "tiny", 3, (64, 64), 0)
    assert not (tmp_path / "sisieg_shapes").exists()
    records = DatasetCatalog.get("test_shapes_tiny")
    assert len(records) == 3
    for record in records:
        assert os.path.isfile(record["file_name"])
        assert os.path.isfile(record["sem_seg_file_name"])
        assert os.path.basename(record["sem_seg_file_name"]) == os.path.basename(record["file_name"])
        assert (record["height"], record["width"]) == (64, 64)
        assert record["annotations"]
        for ann in record["annotations"]:
            assert ann["bbox_mode"] == BoxMode.XYWH_ABS
            assert set(ann["segmentation"]) == {"size", "counts"}
            assert 0 <= ann["category_id"] < 4
            assert isinstance(ann["touching"], bool)
    meta = MetadataCatalog.get("test_shapes_tiny")
    assert all(hasattr(meta, key) for key in METADATA_KEYS)
    assert meta.thing_classes == list(SHAPE_CLASSES)
    assert meta.stuff_classes == ["background", *SHAPE_CLASSES]
    assert meta.thing_dataset_id_to_contiguous_id == {1: 0, 2: 1, 3: 2, 4: 3}
    assert (meta.ignore_label, meta.evaluator_type, meta.touching_flag) == (255, "coco", "touching")
    assert len(meta.thing_colors) == 4 and len(meta.stuff_colors) == 5
    assert meta.json_file == str(split_paths(tmp_path, "tiny").json_file)


def test_generic_registration_accepts_equal_class_metadata(tiny, registered):
    registered.append("test_coco_semantic")
    metadata = {
        "thing_classes": tuple(SHAPE_CLASSES),
        "thing_dataset_id_to_contiguous_id": {"1": 0, "2": 1, "3": 2, "4": 3},
    }
    files = str(tiny.json_file), str(tiny.image_root), str(tiny.sem_seg_root)
    register_coco_semantic("test_coco_semantic", *files, metadata)
    records = DatasetCatalog.get("test_coco_semantic")
    assert len(records) == 4 and all("touching" not in a for r in records for a in r["annotations"])
    meta = MetadataCatalog.get("test_coco_semantic")
    assert meta.thing_classes == list(SHAPE_CLASSES)
    assert (meta.json_file, meta.image_root, meta.sem_seg_root) == files


def test_without_semantic_root_records_have_no_semantic_file(tiny):
    records = load_coco_semantic(str(tiny.json_file), str(tiny.image_root), None, None)
    assert len(records) == 4
    assert all("sem_seg_file_name" not in r for r in records)


def test_missing_semantic_png_is_an_error_naming_it(tmp_path):
    generate_split(tmp_path, "tiny", 2, (64, 64), seed=0, progress=False)
    paths = split_paths(tmp_path, "tiny")
    missing = paths.sem_seg_root / "000002.png"
    missing.unlink()
    with pytest.raises(FileNotFoundError, match="000002.png") as error:
        load_coco_semantic(str(paths.json_file), str(paths.image_root), str(paths.sem_seg_root), None)
    assert str(missing) in str(error.value)


def test_touching_annotation_ids(tiny):
    annotations = json.loads(tiny.json_file.read_text())["annotations"]
    expected = {a["id"] for a in annotations if a["touching"]}
    assert touching_annotation_ids(str(tiny.json_file)) == expected
    assert len(expected) < len(annotations)


def test_dataset_root_follows_detectron2_datasets(monkeypatch):
    monkeypatch.setenv("DETECTRON2_DATASETS", "~/somewhere")
    assert dataset_root() == os.path.expanduser("~/somewhere")
    monkeypatch.delenv("DETECTRON2_DATASETS")
    assert dataset_root() == "datasets"
