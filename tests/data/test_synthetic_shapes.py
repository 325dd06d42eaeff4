"""The synthetic shapes dataset: deterministic, consistent masks, touching instances, atomic."""
import json

import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as mask_util
from pycocotools.coco import COCO
from scipy import ndimage

from sisieg.data.synthetic import SHAPE_CLASSES, ensure_split, generate_split, split_paths
from sisieg.data.synthetic import generator

SIZE = (128, 128)


def split_files(root, split):
    """Relative path -> bytes of every file of ``split`` (images, semantic, json, manifest)."""
    paths = split_paths(root, split)
    files = {p.relative_to(root).as_posix(): p.read_bytes() for p in paths.split_dir.rglob("*.png")}
    files["json"] = paths.json_file.read_bytes()
    files["manifest"] = paths.manifest.read_bytes()
    return files


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("shapes")
    generate_split(root, "tiny", 12, SIZE, seed=0, progress=False)
    return root


def decoded_annotations(root, split):
    """(image dict, semantic array, image array, [(annotation, mask)]) per image."""
    paths = split_paths(root, split)
    coco = COCO(str(paths.json_file))
    for image_id in sorted(coco.getImgIds()):
        info = coco.loadImgs(image_id)[0]
        semantic = np.array(Image.open(paths.sem_seg_root / info["file_name"]))
        image = np.array(Image.open(paths.image_root / info["file_name"]))
        anns = coco.loadAnns(coco.getAnnIds(imgIds=image_id))
        yield info, semantic, image, [(a, mask_util.decode(a["segmentation"]) > 0) for a in anns]


def test_same_seed_gives_identical_files_and_other_seed_differs(tmp_path):
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        generate_split(tmp_path / name, "s", 5, (96, 96), seed=seed, progress=False)
    a, b, c = (split_files(tmp_path / name, "s") for name in "abc")
    assert a == b
    assert a.keys() == c.keys()
    assert a["json"] != c["json"]
    assert all(a[k] != c[k] for k in a if k.endswith(".png"))


def test_images_do_not_depend_on_how_many_are_generated(tmp_path):
    generate_split(tmp_path / "few", "s", 3, (96, 96), seed=0, progress=False)
    generate_split(tmp_path / "more", "s", 5, (96, 96), seed=0, progress=False)
    few, more = split_files(tmp_path / "few", "s"), split_files(tmp_path / "more", "s")
    pngs = [k for k in few if k.endswith(".png")]
    assert len(pngs) == 6
    assert all(few[k] == more[k] for k in pngs)


def test_files_and_categories(tiny):
    paths = split_paths(tiny, "tiny")
    coco = json.loads(paths.json_file.read_text())
    assert [c["name"] for c in coco["categories"]] == list(SHAPE_CLASSES)
    assert [c["id"] for c in coco["categories"]] == [1, 2, 3, 4]
    assert len(coco["images"]) == 12
    assert len({a["id"] for a in coco["annotations"]}) == len(coco["annotations"])
    assert min(a["id"] for a in coco["annotations"]) >= 1
    for info in coco["images"]:
        assert (paths.image_root / info["file_name"]).is_file()
        assert (paths.sem_seg_root / info["file_name"]).is_file()
        assert (info["height"], info["width"]) == SIZE


def test_instance_masks_partition_the_semantic_mask(tiny):
    for info, semantic, image, instances in decoded_annotations(tiny, "tiny"):
        assert image.shape == (*SIZE, 3) and image.dtype == np.uint8
        assert semantic.shape == SIZE and semantic.dtype == np.uint8
        assert set(np.unique(semantic)) <= {0, 1, 2, 3, 4}
        assert 2 <= len(instances) <= 8
        coverage = np.zeros(SIZE, np.int32)
        union_by_class = {k: np.zeros(SIZE, bool) for k in range(1, 5)}
        for ann, mask in instances:
            coverage += mask
            union_by_class[ann["category_id"]] |= mask
            assert ann["iscrowd"] == 0
            assert ann["area"] == mask.sum() >= 20
            ys, xs = np.nonzero(mask)
            assert ann["bbox"] == [xs.min(), ys.min(), np.ptp(xs) + 1, np.ptp(ys) + 1]
        assert coverage.max() <= 1, f"overlapping instance masks in {info['file_name']}"
        for k, union in union_by_class.items():
            np.testing.assert_array_equal(union, semantic == k)


def test_touching_flags_match_recomputed_adjacency(tiny):
    cross = ndimage.generate_binary_structure(2, 1)
    flags = []
    for _, _, _, instances in decoded_annotations(tiny, "tiny"):
        for i, (ann, mask) in enumerate(instances):
            grown = ndimage.binary_dilation(mask, cross)
            expected = any(
                other_ann["category_id"] == ann["category_id"] and (grown & other).any()
                for j, (other_ann, other) in enumerate(instances)
                if j != i
            )
            assert ann["touching"] is expected
            flags.append(expected)
    assert any(flags) and not all(flags)


def test_some_images_merge_same_class_instances_under_connected_components(tiny):
    merged = 0
    for _, semantic, _, instances in decoded_annotations(tiny, "tiny"):
        for k in range(1, 5):
            components = ndimage.label(semantic == k)[1]
            merged += components < sum(ann["category_id"] == k for ann, _ in instances)
    assert merged >= 1


def test_complete_split_is_not_regenerated(tmp_path, monkeypatch):
    ensure_split(tmp_path, "s", 3, (64, 64), seed=0, progress=False)
    before = split_files(tmp_path, "s")

    def fail(*args, **kwargs):
        raise AssertionError("complete split regenerated")

    monkeypatch.setattr(generator, "generate_split", fail)
    ensure_split(tmp_path, "s", 3, (64, 64), seed=0, progress=False)
    assert split_files(tmp_path, "s") == before


def test_changed_parameters_regenerate(tmp_path):
    ensure_split(tmp_path, "s", 3, (64, 64), seed=0, progress=False)
    ensure_split(tmp_path, "s", 4, (64, 64), seed=0, progress=False)
    paths = split_paths(tmp_path, "s")
    assert len(list(paths.image_root.glob("*.png"))) == 4
    assert json.loads(paths.manifest.read_text())["num_images"] == 4


def test_half_written_split_is_regenerated(tmp_path):
    ensure_split(tmp_path, "s", 3, (64, 64), seed=0, progress=False)
    reference = split_files(tmp_path, "s")
    paths = split_paths(tmp_path, "s")
    image = next(paths.image_root.glob("*.png"))
    image.write_bytes(image.read_bytes()[:10])
    paths.manifest.unlink()
    (tmp_path / "sisieg_shapes" / "s.tmp-999999" / "images").mkdir(parents=True)
    ensure_split(tmp_path, "s", 3, (64, 64), seed=0, progress=False)
    assert split_files(tmp_path, "s") == reference
    assert not list((tmp_path / "sisieg_shapes").glob("*.tmp-*"))


def test_interrupted_generation_leaves_no_manifest_and_next_run_recovers(tmp_path, monkeypatch):
    ensure_split(tmp_path, "s", 3, (64, 64), seed=0, progress=False)
    reference = split_files(tmp_path, "s")
    draw_scene = generator.draw_scene
    calls = []

    def crash_on_third(rng, size):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return draw_scene(rng, size)

    monkeypatch.setattr(generator, "draw_scene", crash_on_third)
    with pytest.raises(KeyboardInterrupt):
        ensure_split(tmp_path, "s", 3, (64, 64), seed=1, progress=False)
    assert not split_paths(tmp_path, "s").manifest.exists()
    assert list((tmp_path / "sisieg_shapes").glob("s.tmp-*"))
    monkeypatch.undo()
    ensure_split(tmp_path, "s", 3, (64, 64), seed=0, progress=False)
    assert split_files(tmp_path, "s") == reference
    assert not list((tmp_path / "sisieg_shapes").glob("*.tmp-*"))


def test_masks_do_not_depend_on_the_colours(monkeypatch):
    """Painting draws after the layout, so a change of colours (generator version 2) leaves
    every mask as it was, and mask-input results with it."""
    from sisieg.data.synthetic import shapes

    before = [shapes.draw_scene(generator.image_rng(0, "train", i), (128, 128)) for i in range(4)]
    monkeypatch.setattr(shapes, "CLASS_COLOURS", shapes.CLASS_COLOURS[::-1].copy())
    monkeypatch.setattr(shapes, "COLOUR_JITTER", 40.0)
    after = [shapes.draw_scene(generator.image_rng(0, "train", i), (128, 128)) for i in range(4)]
    for a, b in zip(before, after):
        assert np.array_equal(a.semantic, b.semantic) and a.classes == b.classes and a.touching == b.touching
        assert all(np.array_equal(m, n) for m, n in zip(a.masks, b.masks))
        assert not np.array_equal(a.image, b.image)


def test_objects_take_their_class_colour():
    """Version 2: each object's mean colour lies near its class's colour, closer than to any
    other class's (noise, jitter and shading average out over the object)."""
    from sisieg.data.synthetic import shapes

    for i in range(6):
        scene = shapes.draw_scene(generator.image_rng(0, "train", i), (256, 256))
        for mask, cls in zip(scene.masks, scene.classes):
            mean = scene.image[mask].astype(float).mean(0)
            distances = np.linalg.norm(shapes.CLASS_COLOURS - mean, axis=1)
            assert distances.argmin() == cls, (i, cls, mean)
