"""Any COCO-format dataset from the config alone: registration, semantic masks painted from
polygons / RLE / crowd regions, the mapper, and a train + eval through train_net."""
import json
import math

import numpy as np
import pycocotools.mask as mask_util
import pytest
from PIL import Image

import sisieg  # noqa: F401  isort: skip  (before Detectron2)
from detectron2.data import DatasetCatalog, MetadataCatalog
from pycocotools.coco import COCO
from sisieg.data.dataset_mapper import SISegDatasetMapper
from sisieg.data.datasets import register_coco_format_entries
from sisieg.data.rasterize import rasterize_semantic
from sisieg.engine import build_config

HEIGHT, WIDTH = 144, 160
CATEGORIES = [{"id": 3, "name": "cat"}, {"id": 7, "name": "dog"}]  # contiguous: cat 0, dog 1
CAT, DOG, IGNORE = 1, 2, 255  # painted semantic ids


def box(y0, x0, y1, x1) -> np.ndarray:
    mask = np.zeros((HEIGHT, WIDTH), dtype=bool)
    mask[y0:y1, x0:x1] = True
    return mask


def uncompressed_rle(mask: np.ndarray) -> dict:
    """COCO's uncompressed RLE: run lengths of the column-major pixels, starting with zeros."""
    flat = mask.ravel(order="F").astype(np.int8)
    changes = np.flatnonzero(np.diff(np.concatenate([[0], flat, [1 - flat[-1]]])))
    return {"size": [HEIGHT, WIDTH], "counts": np.diff(np.concatenate([[0], changes])).tolist()}


def compressed_rle(mask: np.ndarray) -> dict:
    rle = mask_util.encode(np.asfortranarray(mask[:, :, None].astype(np.uint8)))[0]
    return {"size": rle["size"], "counts": rle["counts"].decode("ascii")}


def annotations_of(image_id: int, shift: int) -> list:
    """A large dog (polygon), a small cat on it (RLE), a cat (uncompressed RLE) and a crowd
    region (uncompressed RLE) over part of that cat."""
    s = shift
    dog = [20 + s, 20, 110 + s, 20, 110 + s, 90, 20 + s, 90]  # x, y: a 90 x 70 rectangle
    items = [
        (DOG, [dog], 0),
        (CAT, compressed_rle(box(40, 40 + s, 70, 70 + s)), 0),
        (CAT, uncompressed_rle(box(100, 10, 130, 60)), 0),
        (CAT, uncompressed_rle(box(120, 40, 140, 100)), 1),
    ]
    annotations = []
    for k, (semantic_id, segmentation, crowd) in enumerate(items):
        rle = segmentation if isinstance(segmentation, dict) else None
        if rle is None:
            rle = mask_util.merge(mask_util.frPyObjects(segmentation, HEIGHT, WIDTH))
        elif isinstance(rle["counts"], list):
            rle = mask_util.frPyObjects(rle, HEIGHT, WIDTH)
        annotation = {"id": image_id * 10 + k, "image_id": image_id, "iscrowd": crowd}
        annotation["category_id"] = CATEGORIES[semantic_id - 1]["id"]
        annotation["segmentation"] = segmentation
        annotation["area"] = float(mask_util.area(rle))
        annotation["bbox"] = mask_util.toBbox(rle).tolist()
        annotations.append(annotation)
    return annotations


def make_coco_tree(root) -> dict:
    """``{split: (json_file, image_root)}`` of a train and a val split, 2 images each."""
    files, rng = {}, np.random.default_rng(0)
    for split, first_id in (("train", 1), ("val", 3)):
        image_root = root / split
        image_root.mkdir(parents=True)
        images, annotations = [], []
        for image_id in (first_id, first_id + 1):
            name = f"{image_id:04d}.jpg"
            pixels = rng.integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(image_root / name, quality=90)
            images.append({"id": image_id, "file_name": name, "height": HEIGHT, "width": WIDTH})
            annotations += annotations_of(image_id, shift=5 * image_id)
        json_file = root / f"instances_{split}.json"
        coco = {"images": images, "annotations": annotations, "categories": CATEGORIES}
        json_file.write_text(json.dumps(coco))
        files[split] = (str(json_file), str(image_root))
    return files


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    return make_coco_tree(tmp_path_factory.mktemp("coco_root"))


def expected_semantic(coco: COCO, image_id: int) -> np.ndarray:
    """The documented rule, from pycocotools' own decoding: dog (large) under the small cat,
    then the other cat, crowd region last as 255."""
    annotations = coco.loadAnns(coco.getAnnIds(imgIds=[image_id]))
    masks = [coco.annToMask(a).astype(bool) for a in annotations]
    semantic = np.zeros((HEIGHT, WIDTH), dtype=np.uint8)
    for mask, value in zip(masks, (DOG, CAT, CAT, IGNORE)):
        semantic[mask] = value
    return semantic


def test_rasterize_semantic_follows_the_documented_rule_pixel_for_pixel(tree, registered):
    registered.append("test_coco_fmt_rules")
    register_coco_format_entries([["test_coco_fmt_rules", *tree["train"], ""]])
    coco = COCO(tree["train"][0])
    for record in DatasetCatalog.get("test_coco_fmt_rules"):
        painted = rasterize_semantic(record["annotations"], HEIGHT, WIDTH)
        assert painted.dtype == np.uint8
        np.testing.assert_array_equal(painted, expected_semantic(coco, record["image_id"]))
        assert set(np.unique(painted)) == {0, CAT, DOG, IGNORE}


def test_smaller_instances_on_top_whatever_the_order():
    small = {"category_id": 0, "segmentation": compressed_rle(box(5, 5, 10, 10))}
    large = {"category_id": 1, "segmentation": compressed_rle(box(0, 0, 20, 20))}
    for annotations in ([small, large], [large, small]):
        painted = rasterize_semantic(annotations, HEIGHT, WIDTH)
        assert painted[7, 7] == 1 and painted[0, 0] == 2 and painted[30, 30] == 0


def test_equal_areas_later_annotation_on_top_and_crowds_win():
    first = {"category_id": 0, "segmentation": compressed_rle(box(0, 0, 10, 10))}
    second = {"category_id": 1, "segmentation": compressed_rle(box(5, 5, 15, 15))}
    crowd = {"category_id": 1, "iscrowd": 1, "segmentation": compressed_rle(box(0, 0, 3, 3))}
    painted = rasterize_semantic([first, second, crowd], HEIGHT, WIDTH)
    assert painted[7, 7] == 2 and painted[4, 4] == 1 and painted[0, 0] == IGNORE
    assert rasterize_semantic([second, first], HEIGHT, WIDTH)[7, 7] == 1
    assert not rasterize_semantic([], HEIGHT, WIDTH).any()
    with pytest.raises(ValueError, match="annotation 5 has no 'segmentation'"):
        rasterize_semantic([{"id": 5, "category_id": 0, "bbox": [0, 0, 1, 1]}], HEIGHT, WIDTH)


def test_config_registration_is_idempotent_and_refuses_other_files(
    tree, tmp_path, monkeypatch, registered
):
    registered += ["test_coco_fmt_cfg", "test_coco_fmt_rel"]
    entry = ["test_coco_fmt_cfg", *tree["val"], ""]
    opts = ["DATASETS.SISEG_COCO", repr([entry])]
    build_config("", opts)
    build_config("", opts)  # the same files again: a no-op
    meta = MetadataCatalog.get("test_coco_fmt_cfg")
    assert (meta.json_file, meta.image_root, meta.sem_seg_root) == (*tree["val"], None)
    assert (meta.evaluator_type, meta.ignore_label) == ("coco", 255)
    records = DatasetCatalog.get("test_coco_fmt_cfg")
    assert len(records) == 2 and all("sem_seg_file_name" not in r for r in records)
    assert meta.thing_classes == ["cat", "dog"]  # from the json, when loaded
    assert meta.thing_dataset_id_to_contiguous_id == {3: 0, 7: 1}
    other_files = [["test_coco_fmt_cfg", *tree["train"], ""]]
    with pytest.raises(ValueError, match="test_coco_fmt_cfg is already registered"):
        build_config("", ["DATASETS.SISEG_COCO", repr(other_files)])
    with pytest.raises(ValueError, match=r"expected \[name, json_file, image_root, sem_seg_root"):
        build_config("", ["DATASETS.SISEG_COCO", "[['only_a_name']]"])
    monkeypatch.setenv("DETECTRON2_DATASETS", str(tmp_path))
    relative = [["test_coco_fmt_rel", "a/b.json", "a/images", "a/sem"]]
    build_config("", ["DATASETS.SISEG_COCO", repr(relative)])
    meta = MetadataCatalog.get("test_coco_fmt_rel")
    assert meta.json_file == str(tmp_path / "a" / "b.json")
    assert meta.sem_seg_root == str(tmp_path / "a" / "sem")


def test_example_config_registers_without_touching_the_disk(repo_root):
    cfg = build_config(f"{repo_root}/configs/coco_format/example.yaml")
    assert [e[0] for e in cfg.DATASETS.SISEG_COCO] == ["my_coco_train", "my_coco_val"]
    assert {"my_coco_train", "my_coco_val"} <= set(DatasetCatalog.list())
    with pytest.raises(FileNotFoundError, match="my_coco_val: annotation file .*_val.json"):
        DatasetCatalog.get("my_coco_val")


def test_mapper_paints_the_semantic_mask_of_records_without_one(tree, registered):
    registered.append("test_coco_fmt_mapper")
    opts = [
        "DATASETS.SISEG_COCO", repr([["test_coco_fmt_mapper", *tree["val"], ""]]),
        "MODEL.SISEG.NUM_CLASSES", "2", "MODEL.SISEG.NUM_SEMANTIC_CLASSES", "3",
        "INPUT.MIN_SIZE_TEST", "0",
    ]
    cfg = build_config("", opts)
    record = DatasetCatalog.get("test_coco_fmt_mapper")[0]
    out = SISegDatasetMapper(cfg, is_train=False)(record)
    expected = expected_semantic(COCO(tree["val"][0]), record["image_id"])
    np.testing.assert_array_equal(out["sem_seg"].numpy(), expected)
    small = build_config("", [*opts, "MODEL.SISEG.NUM_SEMANTIC_CLASSES", "2"])
    with pytest.raises(ValueError, match=r"annotations of .*0003.jpg: semantic ids \[2\]"):
        SISegDatasetMapper(small, is_train=False)(record)


def test_train_and_evaluate_through_train_net(tree, train_then_evaluate, tmp_path):
    entries = [["sisieg_test_train", *tree["train"], ""], ["sisieg_test_val", *tree["val"], ""]]
    overrides = [
        "DATASETS.SISEG_COCO", repr(entries),
        "DATASETS.TRAIN", "('sisieg_test_train',)", "DATASETS.TEST", "('sisieg_test_val',)",
        "MODEL.SISEG.NUM_CLASSES", "2", "MODEL.SISEG.NUM_SEMANTIC_CLASSES", "3",
    ]
    results = train_then_evaluate(tmp_path, "configs/coco_format/example.yaml", *overrides)
    for metric in ("AP", "AP50", "AP75"):
        assert math.isfinite(results["segm"][metric]), metric


@pytest.mark.parametrize("config", ["configs/coco_format/siseg_label_free.yaml", "configs/coco_format/siseg_instance.yaml"])
def test_the_recipes_work_from_the_data_and_class_counts_alone(tree, train_then_evaluate, tmp_path, config):
    # only what a user gives: the entries (train first, val last) and the class counts
    entries = [["sisieg_recipe_train", *tree["train"], ""], ["sisieg_recipe_val", *tree["val"], ""]]
    results = train_then_evaluate(tmp_path, config, "DATASETS.SISEG_COCO", repr(entries),
                                  "MODEL.SISEG.NUM_CLASSES", "2", "MODEL.SISEG.NUM_SEMANTIC_CLASSES", "3")
    for metric in ("AP", "AP50", "AP75"):
        assert math.isfinite(results["segm"][metric]), metric
    assert "segm_touching" not in results  # no annotation flagged: no subset


def test_label_free_trains_on_a_json_without_any_annotation(tmp_path, train_then_evaluate):
    # the common case of semantic datasets: images, categories and semantic PNGs, no instances
    files = make_coco_tree(tmp_path / "data")
    semantic = tmp_path / "data" / "semantic"
    semantic.mkdir()
    bare = json.loads(open(files["train"][0]).read())
    for image in bare["images"]:
        mask = np.zeros((HEIGHT, WIDTH), np.uint8)
        mask[20:60, 20:60] = CAT
        mask[80:120, 90:140] = DOG
        Image.fromarray(mask).save(semantic / image["file_name"].replace(".jpg", ".png"))
    del bare["annotations"]
    (tmp_path / "data" / "bare_train.json").write_text(json.dumps(bare))
    # val flags its touching instances (here: the two cats of each image): they get their own metrics
    val = json.loads(open(files["val"][0]).read())
    for annotation in val["annotations"]:
        annotation["touching"] = annotation["category_id"] == 3 and not annotation["iscrowd"]
    (tmp_path / "data" / "val_touching.json").write_text(json.dumps(val))
    entries = [["sisieg_bare_train", str(tmp_path / "data" / "bare_train.json"), files["train"][1], str(semantic)],
               ["sisieg_bare_val", str(tmp_path / "data" / "val_touching.json"), files["val"][1], ""]]
    results = train_then_evaluate(tmp_path, "configs/coco_format/siseg_label_free.yaml", "DATASETS.SISEG_COCO",
                                  repr(entries), "MODEL.SISEG.NUM_CLASSES", "2", "MODEL.SISEG.NUM_SEMANTIC_CLASSES", "3")
    assert math.isfinite(results["segm"]["AP"]) and math.isfinite(results["segm_touching"]["AP"])
