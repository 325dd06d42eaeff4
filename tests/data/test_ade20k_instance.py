"""ADE20K instance segmentation: the category table, a miniature tree in the benchmark's
formats, its preparation into Mask2Former-layout json, registration and a train + eval."""
import json
import logging
import math

import numpy as np
import pytest
from PIL import Image

import sisieg  # noqa: F401  isort: skip  (before Detectron2)
from detectron2.data import DatasetCatalog, MetadataCatalog
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
from sisieg.data.datasets.ade20k_instance import (
    ADE20K_SPLITS,
    AdeLayout,
    ade20k_instance_categories,
    ade20k_semantic_classes,
    ade20k_thing_semantic_ids,
    register_ade20k_split,
)
from sisieg.data.prepare import ade20k_instance
from sisieg.engine import build_config

HEIGHT, WIDTH = 128, 160
STEMS = {
    "train": ["ADE_train_00000001", "ADE_train_00000002", "ADE_train_00000003"],
    "val": ["ADE_val_00000001", "ADE_val_00000002"],
}
# Benchmark id -> semantic id of the things drawn (facts of the benchmark's mapping).
PERSON, CHAIR, BED = (4, 13), (8, 20), (1, 8)
WALL, FLOOR = 1, 4  # stuff: semantic ids only


def scene(seed: int):
    """(semantic ids, instance PNG array): wall and floor, two touching persons, a chair and
    a bed; instance PNG R = benchmark category id, G = instance id, B = 0."""
    rng = np.random.default_rng(seed)
    semantic = np.full((HEIGHT, WIDTH), WALL, dtype=np.uint8)
    semantic[80:] = FLOOR
    encoded = np.zeros((HEIGHT, WIDTH, 3), dtype=np.uint8)
    left = int(rng.integers(8, 30))
    boxes = [
        (20, left, 100, left + 30, PERSON),
        (20, left + 30, 100, left + 60, PERSON),
        (70, 100, 120, 150, CHAIR),
        (5, 100, 40, 155, BED),
    ]
    for k, (y0, x0, y1, x1, (benchmark_id, semantic_id)) in enumerate(boxes, start=1):
        semantic[y0:y1, x0:x1] = semantic_id
        encoded[y0:y1, x0:x1] = (benchmark_id, k, 0)
    return semantic, encoded


def make_ade_tree(root) -> AdeLayout:
    layout = AdeLayout(root)
    rng = np.random.default_rng(0)
    seed = 0
    for split, stems in STEMS.items():
        for folder in (layout.images, layout.semantic_pngs, layout.instance_pngs):
            folder(split).mkdir(parents=True)
        for stem in stems:
            pixels = rng.integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(layout.images(split) / f"{stem}.jpg", quality=90)
            semantic, encoded = scene(seed)
            Image.fromarray(semantic, mode="L").save(layout.semantic_pngs(split) / f"{stem}.png")
            Image.fromarray(encoded, mode="RGB").save(layout.instance_pngs(split) / f"{stem}.png")
            seed += 1
    return layout


def prepare(layout: AdeLayout, *args) -> dict:
    return ade20k_instance.main(["--root", str(layout.root), "--no-progress", *args])


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    layout = make_ade_tree(tmp_path_factory.mktemp("ade_root"))
    return layout, prepare(layout)


def test_category_table_is_the_benchmarks():
    categories = ade20k_instance_categories()
    assert [c["id"] for c in categories] == list(range(1, 101))
    assert len({c["name"] for c in categories}) == 100
    semantic_names = ade20k_semantic_classes()
    assert len(semantic_names) == 150 and semantic_names[0] == "wall"
    for c in categories:
        assert semantic_names[c["semantic_id"] - 1] == c["name"], c
    facts = {
        1: ("bed", 8),
        2: ("windowpane", 9),
        4: ("person", 13),
        8: ("chair", 20),
        26: ("chest of drawers", 45),
        58: ("television receiver", 90),
        100: ("flag", 150),
    }
    for benchmark_id, (name, semantic_id) in facts.items():
        category = categories[benchmark_id - 1]
        assert (category["name"], category["semantic_id"]) == (name, semantic_id)


def test_config_thing_semantic_ids_follow_the_table(repo_root):
    cfg = build_config(f"{repo_root}/configs/ade20k/siseg_oracle_R50_bs16_20ep.yaml")
    assert list(cfg.MODEL.SISEG.THING_SEMANTIC_IDS) == ade20k_thing_semantic_ids()
    assert (cfg.MODEL.SISEG.NUM_CLASSES, cfg.MODEL.SISEG.NUM_SEMANTIC_CLASSES) == (100, 151)


def test_prepare_writes_json_in_mask2formers_layout(prepared):
    layout, counts = prepared
    assert counts == {"train": 3, "val": 2}
    data = json.loads(layout.instance_json("val").read_text())
    assert list(data) == ["images", "categories", "annotations"]
    first = {"id": STEMS["val"][0], "file_name": f"{STEMS['val'][0]}.jpg", "width": WIDTH,
             "height": HEIGHT}
    assert data["images"][0] == first
    assert data["categories"][:2] == [{"id": 7, "name": "bed"}, {"id": 8, "name": "windowpane"}]
    assert len(data["categories"]) == 100
    assert [a["id"] for a in data["annotations"]] == list(range(1, 9))
    assert set(data["annotations"][0]) == {
        "id", "image_id", "iscrowd", "category_id", "bbox", "segmentation", "area"
    }


def test_instance_masks_and_categories_pixel_for_pixel(prepared):
    layout, _ = prepared
    coco = COCO(str(layout.instance_json("train")))
    for seed, stem in enumerate(STEMS["train"]):
        semantic, encoded = scene(seed)
        annotations = coco.loadAnns(coco.getAnnIds(imgIds=[stem]))  # a list: ids are str
        assert len(annotations) == 4
        for k, annotation in enumerate(annotations, start=1):
            mask = coco.annToMask(annotation).astype(bool)
            np.testing.assert_array_equal(mask, encoded[..., 1] == k)
            semantic_id = int(semantic[mask][0])
            assert annotation["category_id"] == semantic_id - 1  # Mask2Former's category ids
            x, y, w, h = annotation["bbox"]
            assert all(isinstance(v, int) for v in (x, y, w, h))
            assert w * h == annotation["area"] == int(mask.sum())
    detections = coco.loadRes([dict(a, score=1.0) for a in coco.dataset["annotations"]])
    evaluation = COCOeval(coco, detections, "segm")
    evaluation.evaluate()
    evaluation.accumulate()
    evaluation.summarize()
    assert evaluation.stats[0] == pytest.approx(1.0)


def test_an_instance_spanning_two_categories_is_an_error_naming_the_file():
    _, encoded = scene(0)
    encoded[0, 0] = (CHAIR[0], 1, 0)  # instance 1 is a person elsewhere
    with pytest.raises(ValueError, match=r"x\.png: instance ids \[1\] span several categories"):
        ade20k_instance.ade20k_instances(encoded, "x.png")
    encoded[0, 0] = (101, 9, 0)
    with pytest.raises(ValueError, match=r"category ids \[101\]"):
        ade20k_instance.ade20k_instances(encoded, "x.png")


def test_registered_splits_and_metadata(prepared, registered):
    layout, _ = prepared
    registered.append("test_ade_val")
    register_ade20k_split("test_ade_val", layout, "val")
    records = DatasetCatalog.get("test_ade_val")
    assert [r["image_id"] for r in records] == STEMS["val"]
    semantic_png = layout.semantic_pngs("val") / f"{STEMS['val'][0]}.png"
    assert records[0]["sem_seg_file_name"] == str(semantic_png)
    contiguous = {a["category_id"] for r in records for a in r["annotations"]}
    assert contiguous == {0, 3, 7}  # bed, person, chair in benchmark order
    assert set(ADE20K_SPLITS) == {"sisieg_ade20k_ins_train", "sisieg_ade20k_ins_val"}
    for name in ("test_ade_val", *ADE20K_SPLITS):
        meta = MetadataCatalog.get(name)
        assert meta.thing_classes[:4] == ["bed", "windowpane", "cabinet", "person"]
        assert len(meta.stuff_classes) == 151 and meta.stuff_classes[13] == "person"
        assert len(meta.thing_colors) == 100 and len(meta.stuff_colors) == 151
        assert meta.thing_dataset_id_to_contiguous_id[7] == 0
        assert meta.thing_dataset_id_to_contiguous_id[149] == 99
        assert (meta.evaluator_type, meta.ignore_label) == ("coco", 255)
    assert MetadataCatalog.get("sisieg_ade20k_ins_train").json_file.endswith(
        "ADEChallengeData2016/ade20k_instance_train.json"
    )


def test_loading_an_unprepared_split_names_the_file_and_the_command(tmp_path, registered):
    registered.append("test_ade_missing")
    register_ade20k_split("test_ade_missing", AdeLayout(tmp_path), "train")
    with pytest.raises(FileNotFoundError, match="python -m sisieg.data.prepare.ade20k_instance"):
        DatasetCatalog.get("test_ade_missing")


def test_rerun_skips_complete_files_and_ignores_a_killed_runs_leftovers(tmp_path, caplog):
    layout = make_ade_tree(tmp_path)
    prepare(layout)
    train_json, val_json = layout.instance_json("train"), layout.instance_json("val")
    stamp = train_json.stat().st_mtime_ns
    val_json.unlink()
    leftover = val_json.with_name(val_json.name + ".tmp-99999")
    leftover.write_text('{"images": [')  # half written by a killed run
    with caplog.at_level(logging.WARNING):
        assert prepare(layout) == {"train": 3, "val": 2}
    assert "20,210" in caplog.text and "2,000" in caplog.text
    assert not leftover.exists() and len(json.loads(val_json.read_text())["annotations"]) == 8
    assert train_json.stat().st_mtime_ns == stamp
    prepare(layout, "--force")
    assert train_json.stat().st_mtime_ns != stamp


def test_wrong_root_or_missing_folder_is_a_one_line_error(tmp_path):
    with pytest.raises(SystemExit, match="dataset root .*nowhere not found"):
        ade20k_instance.main(["--root", str(tmp_path / "nowhere")])
    layout = AdeLayout(tmp_path)
    layout.images("train").mkdir(parents=True)
    with pytest.raises(SystemExit) as error:
        ade20k_instance.main(["--root", str(tmp_path)])
    assert str(error.value) == (
        f"ADE20K train instance annotations not found: expected {layout.instance_pngs('train')}"
    )


def test_train_and_evaluate_through_train_net(prepared, train_then_evaluate):
    layout, _ = prepared
    config = "configs/ade20k/siseg_oracle_R50_bs16_20ep.yaml"
    small = ["INPUT.SISEG.RESIZE_LONG_EDGE", "160", "INPUT.MIN_SIZE_TEST", "160"]
    results = train_then_evaluate(layout.root, config, *small, "INPUT.MAX_SIZE_TEST", "160")
    for metric in ("AP", "AP50", "AP75"):
        assert math.isfinite(results["segm"][metric]), metric
