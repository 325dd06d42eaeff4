"""PASCAL VOC 2012 + SBD: a miniature tree in the real formats, prepared, registered, trained on."""
import json
import logging
import math
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
from scipy import sparse
from scipy.io import savemat

import sisieg  # noqa: F401  isort: skip  (before Detectron2)
from detectron2.data import DatasetCatalog, MetadataCatalog
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
from sisieg.data.datasets.voc import (
    VOC_CLASSES,
    VOC_SPLITS,
    VocLayout,
    register_voc_instances,
    register_voc_train_aug,
)
from sisieg.data.palette import voc_palette
from sisieg.data.prepare import voc_sbd
from sisieg.data.semantic_io import read_semantic_mask

VOC_TRAIN = ["2007_000032", "2007_000039"]
VOC_VAL = ["2007_000033", "2007_000042"]
SBD_TRAIN = ["2007_000039", "2007_000033", "2008_000002"]  # one VOC train, one VOC val image
SBD_VAL = ["2008_000003"]
TRAIN_AUG = ["2007_000032", "2007_000039", "2008_000002", "2008_000003"]
HEIGHT, WIDTH = 144, 176
VOID = 255


def boundary(ids: np.ndarray) -> np.ndarray:
    """Pixels with a 4-neighbour of another id (both sides of every edge)."""
    edge = np.zeros(ids.shape, dtype=bool)
    rows, cols = ids[1:] != ids[:-1], ids[:, 1:] != ids[:, :-1]
    edge[1:] |= rows
    edge[:-1] |= rows
    edge[:, 1:] |= cols
    edge[:, :-1] |= cols
    return edge


def scene(seed: int, void: bool = True):
    """(class ids, instance ids): two touching objects of one class and one of another; with
    ``void``, VOC's 255 borders around every object and a void region that is no object."""
    rng = np.random.default_rng(seed)
    first, second = (int(c) for c in rng.choice(np.arange(1, 21), 2, replace=False))
    top = int(rng.integers(16, 30))
    boxes = [
        (top, 20, top + 60, 70, first),
        (top, 70, top + 60, 120, first),
        (90, 125, 132, 168, second),
    ]
    classes = np.zeros((HEIGHT, WIDTH), dtype=np.uint8)
    objects = np.zeros((HEIGHT, WIDTH), dtype=np.uint8)
    for k, (y0, x0, y1, x1, c) in enumerate(boxes, start=1):
        classes[y0:y1, x0:x1], objects[y0:y1, x0:x1] = c, k
    if void:
        edge = boundary(objects)
        classes[edge], objects[edge] = VOID, VOID
        classes[4:12, 130:170], objects[4:12, 130:170] = VOID, VOID
    return classes, objects


def save_palette_png(path, ids):
    image = Image.fromarray(ids, mode="P")
    image.putpalette(voc_palette().reshape(-1).tolist())
    image.save(path)


def save_sbd(layout: VocLayout, stem: str, seed: int):
    """``cls/<stem>.mat`` and ``inst/<stem>.mat`` in SBD's struct layout."""
    classes, objects = scene(seed, void=False)
    cls_boundaries = np.empty((20, 1), dtype=object)
    for c in range(20):
        cls_boundaries[c, 0] = sparse.csc_matrix(boundary(classes) & (classes == c + 1))
    present = np.unique(classes[classes > 0]).astype(np.uint8)
    gt_cls = {"Segmentation": classes, "Boundaries": cls_boundaries, "CategoriesPresent": present}
    savemat(layout.sbd / "cls" / f"{stem}.mat", {"GTcls": gt_cls})
    ids = np.unique(objects[objects > 0])
    inst_boundaries = np.empty((len(ids), 1), dtype=object)
    for i, k in enumerate(ids):
        inst_boundaries[i, 0] = sparse.csc_matrix(boundary(objects) & (objects == k))
    categories = np.array([classes[objects == k][0] for k in ids], dtype=np.uint8)
    gt_inst = {"Segmentation": objects, "Boundaries": inst_boundaries, "Categories": categories}
    savemat(layout.sbd / "inst" / f"{stem}.mat", {"GTinst": gt_inst})
    return classes


def make_voc_tree(root, sbd: bool = True) -> VocLayout:
    """VOC2012/ and SBD/dataset/ in the standard layout, with the stems above."""
    layout = VocLayout(root)
    for folder in (layout.images, layout.class_pngs, layout.object_pngs, layout.split_lists):
        folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for stem in sorted({*VOC_TRAIN, *VOC_VAL, *SBD_TRAIN, *SBD_VAL}):
        pixels = rng.integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(layout.images / f"{stem}.jpg", quality=90)
    for seed, stem in enumerate(VOC_TRAIN + VOC_VAL):
        classes, objects = scene(seed)
        save_palette_png(layout.class_pngs / f"{stem}.png", classes)
        save_palette_png(layout.object_pngs / f"{stem}.png", objects)
    for split, stems in (("train", VOC_TRAIN), ("val", VOC_VAL)):
        layout.split_list(split).write_text("".join(f"{s}\n" for s in stems))
    if sbd:
        for folder in ("cls", "inst", "img"):
            (layout.sbd / folder).mkdir(parents=True)
        for seed, stem in enumerate(SBD_TRAIN + SBD_VAL, start=100):
            save_sbd(layout, stem, seed)
            image = (layout.images / f"{stem}.jpg").read_bytes()
            (layout.sbd / "img" / f"{stem}.jpg").write_bytes(image)
        for split, stems in (("train", SBD_TRAIN), ("val", SBD_VAL)):
            layout.sbd_list(split).write_text("".join(f"{s}\n" for s in stems))
    return layout


def prepare(layout: VocLayout, *args) -> dict:
    return voc_sbd.main(["--root", str(layout.root), "--no-progress", *args])


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """A miniature tree, prepared once: (layout, counts returned by the script)."""
    layout = make_voc_tree(tmp_path_factory.mktemp("voc_root"))
    return layout, prepare(layout)


def test_voc_palette_has_voc_colours():
    palette = voc_palette()
    assert palette[1].tolist() == [128, 0, 0]  # aeroplane
    assert palette[15].tolist() == [192, 128, 128]  # person
    assert palette[20].tolist() == [0, 64, 128]  # tvmonitor
    assert palette[VOID].tolist() == [224, 224, 192]  # void borders
    assert len({tuple(c) for c in palette}) == 256


def test_prepare_counts_and_train_aug_list(prepared):
    layout, counts = prepared
    assert counts == {"train_aug": 4, "train": 2, "val": 2}
    assert layout.train_aug_list.read_text().split() == TRAIN_AUG
    assert sorted(p.stem for p in layout.train_aug_labels.glob("*.png")) == TRAIN_AUG
    assert not list(layout.voc.rglob("*.tmp-*"))


def test_train_aug_labels_come_from_voc_where_it_has_them_else_sbd(prepared):
    layout, _ = prepared
    for stem in TRAIN_AUG:
        label = layout.train_aug_labels / f"{stem}.png"
        with Image.open(label) as image:
            assert image.mode == "P"
            assert image.getpalette()[: 3 * 21] == voc_palette()[:21].reshape(-1).tolist()
        if stem in VOC_TRAIN:  # VOC's PNG, byte for byte (2007_000039 is in SBD too)
            assert label.read_bytes() == (layout.class_pngs / f"{stem}.png").read_bytes()
        else:
            seed = 100 + (SBD_TRAIN + SBD_VAL).index(stem)
            expected, _ = scene(seed, void=False)
            np.testing.assert_array_equal(read_semantic_mask(str(label), 21), expected)
    voc_label = read_semantic_mask(str(layout.train_aug_labels / "2007_000039.png"), 21)
    assert (voc_label == VOID).any()  # VOC's borders kept as ignore


def test_instance_json_matches_segmentation_object_pixel_for_pixel(prepared):
    layout, _ = prepared
    coco = COCO(str(layout.instance_json("val")))
    assert [c["id"] for c in coco.dataset["categories"]] == list(range(1, 21))
    assert [c["name"] for c in coco.dataset["categories"]] == list(VOC_CLASSES)
    assert [im["file_name"] for im in coco.dataset["images"]] == [f"{s}.jpg" for s in VOC_VAL]
    for image, stem in zip(coco.dataset["images"], VOC_VAL):
        classes, objects = scene(len(VOC_TRAIN) + VOC_VAL.index(stem))
        assert (image["height"], image["width"]) == (HEIGHT, WIDTH)
        annotations = coco.loadAnns(coco.getAnnIds(imgIds=image["id"]))
        assert len(annotations) == 3  # the void region is no instance
        covered = np.zeros((HEIGHT, WIDTH), dtype=bool)
        for k, annotation in enumerate(annotations, start=1):
            mask = coco.annToMask(annotation).astype(bool)
            np.testing.assert_array_equal(mask, objects == k)
            assert annotation["category_id"] == int(classes[objects == k][0])
            assert annotation["area"] == int(mask.sum()) and annotation["iscrowd"] == 0
            x, y, w, h = annotation["bbox"]
            ys, xs = np.nonzero(mask)
            assert (x, y, w, h) == (xs.min(), ys.min(), xs.ptp() + 1, ys.ptp() + 1)
            covered |= mask
        assert not covered[objects == VOID].any()


def test_instance_json_scores_perfectly_against_itself_in_cocoeval(prepared):
    layout, _ = prepared
    gt = COCO(str(layout.instance_json("val")))
    detections = [dict(a, score=1.0) for a in gt.dataset["annotations"]]
    evaluation = COCOeval(gt, gt.loadRes(detections), "segm")
    evaluation.evaluate()
    evaluation.accumulate()
    evaluation.summarize()
    assert evaluation.stats[0] == pytest.approx(1.0)


def test_registered_splits_load_the_prepared_files(prepared, registered):
    layout, _ = prepared
    registered += ["test_voc_aug", "test_voc_val"]
    register_voc_train_aug("test_voc_aug", layout)
    register_voc_instances("test_voc_val", layout, "val")
    aug = DatasetCatalog.get("test_voc_aug")
    assert [r["image_id"] for r in aug] == TRAIN_AUG
    assert all(os.path.isfile(r["file_name"]) for r in aug)
    assert all(os.path.isfile(r["sem_seg_file_name"]) for r in aug)
    val = DatasetCatalog.get("test_voc_val")
    assert len(val) == 2 and sum(len(r["annotations"]) for r in val) == 6
    assert {a["category_id"] for r in val for a in r["annotations"]} <= set(range(20))
    assert val[0]["sem_seg_file_name"] == str(layout.class_pngs / f"{VOC_VAL[0]}.png")
    meta = MetadataCatalog.get("test_voc_aug")
    assert (meta.evaluator_type, meta.ignore_label) == ("sem_seg", 255)
    assert MetadataCatalog.get("test_voc_val").evaluator_type == "coco"


def test_builtin_names_are_registered_with_full_metadata():
    assert set(VOC_SPLITS) == {
        "sisieg_voc_2012_train_aug_sem", "sisieg_voc_2012_train_ins", "sisieg_voc_2012_val_ins"
    }
    assert set(VOC_SPLITS) <= set(DatasetCatalog.list())
    for name in VOC_SPLITS:
        meta = MetadataCatalog.get(name)
        assert meta.thing_classes == list(VOC_CLASSES)
        assert meta.stuff_classes == ["background", *VOC_CLASSES]
        assert len(meta.thing_colors) == 20 and len(meta.stuff_colors) == 21
        assert meta.thing_dataset_id_to_contiguous_id == {i: i - 1 for i in range(1, 21)}
        assert meta.ignore_label == 255 and meta.image_root.endswith("JPEGImages")
    assert MetadataCatalog.get("sisieg_voc_2012_val_ins").json_file.endswith("instances_val.json")


def test_loading_an_unprepared_split_names_the_file_and_the_command(tmp_path, registered):
    registered += ["test_voc_missing_aug", "test_voc_missing_val"]
    layout = VocLayout(tmp_path)
    register_voc_train_aug("test_voc_missing_aug", layout)
    register_voc_instances("test_voc_missing_val", layout, "val")
    with pytest.raises(FileNotFoundError, match="python -m sisieg.data.prepare.voc_sbd") as error:
        DatasetCatalog.get("test_voc_missing_aug")
    assert str(layout.train_aug_list) in str(error.value)
    with pytest.raises(FileNotFoundError, match="instances_val.json"):
        DatasetCatalog.get("test_voc_missing_val")


def test_partial_tree_warns_with_the_expected_counts(prepared, caplog):
    layout, _ = prepared
    with caplog.at_level(logging.WARNING):
        prepare(layout)
    assert "10,582" in caplog.text and "1,449" in caplog.text and "1,464" in caplog.text


def test_rerun_skips_complete_outputs_and_recovers_from_a_killed_run(tmp_path):
    layout = make_voc_tree(tmp_path)
    prepare(layout)
    kept_label = layout.train_aug_labels / "2008_000002.png"
    redone_label = layout.train_aug_labels / "2008_000003.png"
    expected_label = redone_label.read_bytes()
    stamps = {p: p.stat().st_mtime_ns for p in (kept_label, layout.instance_json("train"))}
    # A run killed while writing: half files under temporary names, the final ones absent.
    redone_label.unlink()
    layout.instance_json("val").unlink()
    leftovers = [
        layout.train_aug_labels / "2008_000003.png.tmp-99999",
        layout.instance_jsons / "instances_val.json.tmp-99999",
    ]
    for leftover in leftovers:
        leftover.write_bytes(b"\x89PNG half")
    assert prepare(layout) == {"train_aug": 4, "train": 2, "val": 2}
    assert not any(p.exists() for p in leftovers)
    assert redone_label.read_bytes() == expected_label
    assert len(json.loads(layout.instance_json("val").read_text())["annotations"]) == 6
    assert all(p.stat().st_mtime_ns == stamp for p, stamp in stamps.items())
    prepare(layout, "--force")
    assert kept_label.stat().st_mtime_ns != stamps[kept_label]


def test_wrong_root_or_missing_folder_is_a_one_line_error(tmp_path):
    with pytest.raises(SystemExit, match="dataset root .*nowhere not found"):
        voc_sbd.main(["--root", str(tmp_path / "nowhere")])
    with pytest.raises(SystemExit, match="PASCAL VOC 2012 folder not found: expected .*VOC2012"):
        voc_sbd.main(["--root", str(tmp_path)])
    layout = make_voc_tree(tmp_path / "incomplete_sbd", sbd=False)
    layout.sbd.mkdir(parents=True)  # an SBD folder without its class labels: named
    with pytest.raises(SystemExit) as error:
        voc_sbd.main(["--root", str(layout.root)])
    assert str(error.value) == f"SBD class labels not found: expected {layout.sbd_cls}"


def test_command_line_works_from_any_folder_with_the_environment_root(prepared, tmp_path):
    layout, _ = prepared
    command = [sys.executable, "-m", "sisieg.data.prepare.voc_sbd", "--no-progress"]
    env = dict(os.environ, DETECTRON2_DATASETS=str(layout.root))
    result = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert "train_aug: 4 images found, the full dataset has 10,582" in result.stderr


@pytest.mark.parametrize("config", ["configs/voc/siseg_oracle_R50_bs14_20ep.yaml",
                                    "configs/voc/siseg_label_free_train_aug.yaml"])
def test_train_and_evaluate_through_train_net(prepared, train_then_evaluate, config):
    layout, _ = prepared
    results = train_then_evaluate(layout.root, config)
    for metric in ("AP", "AP50", "AP75"):
        assert math.isfinite(results["segm"][metric]), metric


def test_voc_without_sbd_prepares_the_instance_splits_and_warns(tmp_path, caplog):
    layout = make_voc_tree(tmp_path, sbd=False)
    with caplog.at_level(logging.WARNING):
        counts = prepare(layout)
    assert counts == {"train": len(VOC_TRAIN), "val": len(VOC_VAL)}
    assert layout.instance_json("train").is_file() and layout.instance_json("val").is_file()
    assert not layout.train_aug_list.exists()
    assert "SBD not found" in caplog.text and "train_aug" in caplog.text and "needs SBD" in caplog.text
    command = [sys.executable, "-m", "sisieg.data.prepare.voc_sbd", "--no-progress", "--root", str(tmp_path)]
    assert subprocess.run(command, capture_output=True, text=True).returncode == 0


def test_a_bad_instance_png_is_named_and_the_others_are_prepared(tmp_path):
    layout = make_voc_tree(tmp_path)
    bad = layout.object_pngs / f"{VOC_VAL[0]}.png"
    bad.write_bytes(b"not a png")
    command = [sys.executable, "-m", "sisieg.data.prepare.voc_sbd", "--no-progress", "--root", str(tmp_path)]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert str(bad) in result.stderr and "could not be prepared" in result.stderr
    val = json.loads(layout.instance_json("val").read_text())
    assert len(val["images"]) == len(VOC_VAL) - 1


def test_compare_puts_siseg_connected_components_and_mask_rcnn_side_by_side_on_voc(prepared, tmp_path, tiny_run, repo_root):
    layout, _ = prepared
    (tmp_path / "configs").symlink_to(os.path.join(repo_root, "configs"))
    rows = [
        ("--row", "SISeg", "configs/voc/siseg_oracle_R50_bs14_20ep.yaml", "train"),
        ("--row", "connected components", "configs/voc/cc_oracle.yaml", "none"),
        ("--row", "Mask R-CNN R50-FPN", "configs/voc/mask_rcnn_R50_FPN_1x.yaml", "train"),
    ]
    tiny = [*tiny_run, "MODEL.WEIGHTS", "", "MODEL.PIXEL_STD", "[57.0, 57.0, 57.0]", "SOLVER.MAX_ITER", "1",
            "INPUT.MIN_SIZE_TRAIN", "(64,)", "INPUT.MAX_SIZE_TRAIN", "96", "INPUT.SISEG.CROP_SIZE", "64",
            "MODEL.FPN.NORM", "BN"]
    command = [sys.executable, os.path.join(repo_root, "tools", "compare.py"), "--output-dir", "cmp",
               "--pictures", "1", *[item for row in rows for item in row], *tiny]
    env = dict(os.environ, DETECTRON2_DATASETS=str(layout.root))
    result = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    table = json.loads((tmp_path / "cmp" / "comparison.json").read_text())
    assert list(table) == ["SISeg", "connected components", "Mask R-CNN R50-FPN"]
    for name, row in table.items():
        assert all(math.isfinite(row["results"]["segm"][m]) for m in ("AP", "AP50", "AP75")), name
    assert table["Mask R-CNN R50-FPN"]["params_trainable"] > table["SISeg"]["params_trainable"]
