"""Prepare ADE20K instance segmentation for sisieg:
``python -m sisieg.data.prepare.ade20k_instance [--root DIR]``.

Reads ``ADEChallengeData2016/{images,annotations_instance}/{training,validation}`` under the
root and writes ``ADEChallengeData2016/ade20k_instance_{train,val}.json`` in the layout of
Mask2Former's preparation (image id = stem, category id = 150-class semantic id - 1, RLE,
annotation ids from 1 per file); then checks the counts (20,210 / 2,000). Instance PNGs:
R = benchmark category id (1..100), G = instance id (0 = no instance).
"""
import json
import logging

import numpy as np
from PIL import Image
from tqdm import tqdm

from ..datasets.ade20k_instance import (
    EXPECTED_COUNTS,
    SPLIT_DIRS,
    AdeLayout,
    ade20k_instance_categories,
    json_category_id,
)
from .coco_instances import coco_annotation, pair_counts
from .common import (
    check_counts, parse_args, report_failure, require, resolve_root, run_cli, write_coco_unless_present,
)

logger = logging.getLogger(__name__)


def ade20k_instances(encoded: np.ndarray, source: str) -> list:
    """``[(benchmark category id, mask), ...]`` per instance id (G channel) of an (H, W, 3+)
    instance PNG array, in id order; ValueError naming ``source`` for an instance spanning
    several categories or an unknown category."""
    categories, instances = encoded[..., 0], encoded[..., 1]
    inside = instances > 0
    counts = pair_counts(instances[inside], categories[inside])
    ids = np.flatnonzero(counts.sum(axis=1))
    counts = counts[ids]
    mixed = ids[(counts > 0).sum(axis=1) > 1]
    if mixed.size:
        raise ValueError(f"{source}: instance ids {mixed.tolist()} span several categories (R)")
    category_ids = counts.argmax(axis=1)
    known = {c["id"] for c in ade20k_instance_categories()}
    unknown = sorted(set(category_ids.tolist()) - known)
    if unknown:
        raise ValueError(f"{source}: category ids {unknown} are not instance-benchmark ids 1..100")
    return [(int(c), instances == i) for i, c in zip(ids, category_ids)]


def read_instance_png(path) -> np.ndarray:
    """(H, W, C) uint8 channels of an instance PNG; ValueError when it is single-channel."""
    with Image.open(path) as image:
        encoded = np.asarray(image)
    if encoded.ndim != 3 or encoded.shape[2] < 2 or encoded.dtype != np.uint8:
        raise ValueError(f"{path}: expected an 8-bit RGB instance PNG (R = category, G = instance)")
    return encoded


def ade20k_instance_coco(layout: AdeLayout, split: str, progress: bool = True):
    """``(coco dict, image stems left out for lack of an instance PNG)`` of ``split``."""
    to_json = {c["id"]: json_category_id(c) for c in ade20k_instance_categories()}
    images, annotations, left_out = [], [], []
    paths = sorted(layout.images(split).glob("*.jpg"))
    for path in tqdm(paths, desc=f"ADE20K {split} instances", disable=not progress):
        instance_png = layout.instance_pngs(split) / f"{path.stem}.png"
        if not instance_png.is_file():
            left_out.append(path.stem)
            continue
        try:
            with Image.open(path) as image:
                width, height = image.size
            encoded = read_instance_png(instance_png)
            if encoded.shape[:2] != (height, width):
                raise ValueError(f"{instance_png} is not the size of {path} ({width}x{height})")
            instances = ade20k_instances(encoded, str(instance_png))
        except (ValueError, OSError) as e:  # a bad file: named, the others are still prepared
            report_failure(instance_png, e)
            continue
        images.append({"id": path.stem, "file_name": path.name, "width": width, "height": height})
        for category, mask in instances:
            next_id = len(annotations) + 1
            annotations.append(coco_annotation(mask, to_json[category], path.stem, next_id))
    categories = [
        {"id": json_category_id(c), "name": c["name"]} for c in ade20k_instance_categories()
    ]
    return {"images": images, "categories": categories, "annotations": annotations}, left_out


def check_inputs(layout: AdeLayout):
    """SystemExit naming the first expected input folder that is missing."""
    require(layout.base, "ADE20K SceneParsing folder")
    for split in SPLIT_DIRS:
        require(layout.images(split), f"ADE20K {split} images")
        require(layout.instance_pngs(split), f"ADE20K {split} instance annotations")


def prepare_split(layout: AdeLayout, split: str, force=False, progress=True) -> int:
    """Write the COCO file of ``split`` unless it exists; return its number of images."""
    count = write_coco_unless_present(
        layout.instance_json(split),
        lambda: ade20k_instance_coco(layout, split, progress),
        f"no instance PNG in {layout.instance_pngs(split)}",
        force,
    )
    images = json.loads(layout.instance_json(split).read_text(encoding="utf-8"))["images"]
    warn_missing_semantic(layout, split, images)
    return count


def warn_missing_semantic(layout: AdeLayout, split: str, images: list):
    """Training and the oracle read the 150-class PNGs: warn about images without one."""
    folder = layout.semantic_pngs(split)
    missing = [im["id"] for im in images if not (folder / f"{im['id']}.png").is_file()]
    if missing:
        logger.warning(
            "ADE20K %s: %d images have no semantic PNG in %s (training and evaluation need "
            "them), e.g. %s",
            split, len(missing), folder, missing[0],
        )


def main(argv=None) -> dict:
    """Prepare both splits; return the images per split ({"train", "val"})."""
    args = parse_args("Prepare ADE20K instance segmentation for sisieg.", argv)
    layout = AdeLayout(resolve_root(args.root))
    check_inputs(layout)
    counts = {s: prepare_split(layout, s, args.force, not args.no_progress) for s in SPLIT_DIRS}
    check_counts("ADE20K", counts, EXPECTED_COUNTS)
    return counts


if __name__ == "__main__":
    run_cli(main)
