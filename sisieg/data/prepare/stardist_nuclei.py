"""Real instance data from a registry package: the fluorescence nuclei of StarDist's test image.

The ``stardist`` wheel on PyPI ships ``stardist/data/images/img2d.tif`` (512 x 512, 16-bit, a
fluorescence image of the 2018 Data Science Bowl, Caicedo et al., Nature Methods 2019) with
``mask2d.tif`` (its instance ids, 125 nuclei). Nothing of it is committed here: this script
fetches the wheel with pip (or reads one given with ``--wheel``), takes the two files out of it
and writes a COCO-format dataset of one class:

    $DETECTRON2_DATASETS/stardist_nuclei/
      images/<tile>.png          # 8-bit grey, the 1st..99.8th percentile of the 16-bit image
      semantic/<tile>.png        # 0 background, 1 nucleus
      train.json                 # tiles r0c0, r0c1, r1c1, instance annotations
      train_semantic_only.json   # the same images, no annotation (label-free training)
      val.json                   # tile r1c0, annotations flagged ``touching`` where a nucleus
                                 # shares a boundary with another
      folds/<tile>/{train,train_semantic_only,val}.json
                                 # the same with <tile> held out, one fold a quarter
                                 # (4-fold cross-validation: every nucleus evaluated once)

Tiles are the four 256 x 256 quarters; nuclei cut by a tile border keep their visible part.
Use it with the COCO-format configs, e.g. (the project page's real-data table)

    python -m sisieg.data.prepare.stardist_nuclei
    python tools/sweep.py --plan nuclei --config-file configs/coco_format/siseg_instance.yaml \\
        DATASETS.SISEG_COCO "$(python -m sisieg.data.prepare.stardist_nuclei --print-entries)" \\
        OUTPUT_DIR output/stardist_nuclei

and ``--print-entries --fold r0c1`` for the fold that holds out tile r0c1.
"""
import io
import json
import logging
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

from ..atomic_io import remove_leftovers, save_png_atomically, write_json_atomically
from .coco_instances import coco_annotation, touching_flags
from .common import parse_args, resolve_root, run_cli

logger = logging.getLogger(__name__)

PACKAGE = "stardist==0.9.2"  # the release whose wheel was checked to ship the two files
IMAGE_MEMBER = "stardist/data/images/img2d.tif"
MASK_MEMBER = "stardist/data/images/mask2d.tif"
FOLDER = "stardist_nuclei"
TILE = 256  # tile side, pixels
VAL_TILE = "r1c0"  # the default held-out quarter: the one with the most touching nuclei (20 of 40)
FOLDS = ("r0c0", "r0c1", "r1c0", "r1c1")  # the four quarters, each held out by one fold
CATEGORY = {"id": 1, "name": "nucleus"}
PERCENTILES = (1.0, 99.8)  # the 16-bit range mapped onto 0..255


def fetch_wheel(folder: Path) -> Path:
    """Download the stardist wheel (no dependencies) into ``folder``; SystemExit if pip fails."""
    command = [sys.executable, "-m", "pip", "download", PACKAGE, "--no-deps", "-d", str(folder), "-q"]
    result = subprocess.run(command, capture_output=True, text=True)
    wheels = sorted(folder.glob("stardist-*.whl"))
    if result.returncode != 0 or not wheels:
        last = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no wheel written"]
        raise SystemExit(f"could not download {PACKAGE} ({last[0]}); download its wheel and pass --wheel FILE")
    return wheels[0]


def read_member(wheel: Path, member: str) -> np.ndarray:
    """The image ``member`` of the zip ``wheel`` as an array; SystemExit naming what is wrong."""
    try:
        with zipfile.ZipFile(wheel) as archive, archive.open(member) as f:
            return np.array(Image.open(io.BytesIO(f.read())))
    except (zipfile.BadZipFile, KeyError, OSError) as e:
        raise SystemExit(f"{wheel}: cannot read {member} ({type(e).__name__}: {e})")


def to_uint8(image: np.ndarray) -> np.ndarray:
    """The ``PERCENTILES`` range of ``image`` stretched onto 0..255."""
    low, high = np.percentile(image, PERCENTILES)
    scaled = (image.astype(np.float64) - low) / max(high - low, 1e-6)
    return np.round(np.clip(scaled, 0, 1) * 255).astype(np.uint8)


def tiles(image: np.ndarray, ids: np.ndarray):
    """``(name, image tile, consecutive instance ids 0..n)`` for each TILE x TILE quarter."""
    for row in range(image.shape[0] // TILE):
        for col in range(image.shape[1] // TILE):
            window = np.s_[row * TILE:(row + 1) * TILE, col * TILE:(col + 1) * TILE]
            _, relabelled = np.unique(ids[window], return_inverse=True)  # 0 stays 0: ids >= 0
            yield f"r{row}c{col}", image[window], relabelled.reshape(TILE, TILE)


def tile_annotations(labels: np.ndarray, image_id: int, first_id: int) -> list:
    """COCO annotations of the instances 1..n of ``labels``, flagged ``touching``."""
    count = int(labels.max())
    flags = touching_flags(labels, [0] * count)
    annotations = []
    for k in range(1, count + 1):  # one RLE per object, as every COCO writer does
        annotation = coco_annotation(labels == k, CATEGORY["id"], image_id, first_id + k - 1)
        annotation["touching"] = bool(flags[k - 1])
        annotations.append(annotation)
    return annotations


def write_split_files(folder: Path, images: list, annotations: list, val_tile: str) -> dict:
    """``train.json``, ``train_semantic_only.json`` and ``val.json`` in ``folder``, holding out
    ``val_tile``; returns their paths."""
    val_name = f"{val_tile}.png"
    splits = {"train": {"images": [], "annotations": []}, "val": {"images": [], "annotations": []}}
    for image in images:
        split = splits["val" if image["file_name"] == val_name else "train"]
        split["images"].append(image)
        split["annotations"] += [a for a in annotations if a["image_id"] == image["id"]]
    files = {}
    for split, coco in splits.items():
        files[split] = write_json_atomically(folder / f"{split}.json", {**coco, "categories": [CATEGORY]})
        touching = sum(a["touching"] for a in coco["annotations"])
        logger.info("%s: %d tiles, %d nuclei (%d touching)", files[split], len(coco["images"]), len(coco["annotations"]), touching)
    semantic_only = {"images": splits["train"]["images"], "annotations": [], "categories": [CATEGORY]}
    files["train_semantic_only"] = write_json_atomically(folder / "train_semantic_only.json", semantic_only)
    return files


def write_dataset(root: Path, image: np.ndarray, ids: np.ndarray) -> dict:
    """Write the tiles, semantic masks, the default split's json files and every fold's;
    returns the default split's json paths."""
    base = root / FOLDER
    for sub in ("images", "semantic"):
        remove_leftovers(base / sub)
    images, annotations = [], []
    for image_id, (name, pixels, labels) in enumerate(tiles(to_uint8(image), ids), start=1):
        save_png_atomically(base / "images" / f"{name}.png", pixels)
        save_png_atomically(base / "semantic" / f"{name}.png", (labels > 0).astype(np.uint8))
        images.append({"id": image_id, "file_name": f"{name}.png", "height": TILE, "width": TILE})
        annotations += tile_annotations(labels, image_id, len(annotations) + 1)
    for held_out in FOLDS:  # the folders main() checks for
        write_split_files(base / "folds" / held_out, images, annotations, held_out)
    return write_split_files(base, images, annotations, VAL_TILE)  # last: its files mark completion


def entries(fold: str = "") -> list:
    """The ``DATASETS.SISEG_COCO`` value for this dataset (paths relative to the dataset root):
    the training split with annotations (the default DATASETS.TRAIN, first), the same images
    without any (``stardist_nuclei_train_semantic_only``), and val (the default DATASETS.TEST, last).
    ``fold``: the tile held out (its folder under ``folds/``); "" = the default split."""
    images, semantic = f"{FOLDER}/images", f"{FOLDER}/semantic"
    split = f"{FOLDER}/folds/{fold}" if fold else FOLDER
    return [["stardist_nuclei_train", f"{split}/train.json", images, semantic],
            ["stardist_nuclei_train_semantic_only", f"{split}/train_semantic_only.json", images, semantic],
            ["stardist_nuclei_val", f"{split}/val.json", images, semantic]]


def main(argv=None) -> dict:
    args = parse_args(__doc__.splitlines()[0], argv, extra=_options)
    if args.fold and args.fold not in FOLDS:
        raise SystemExit(f"--fold {args.fold}: not a tile; the folds are {', '.join(FOLDS)}")
    if args.print_entries:
        print(json.dumps(entries(args.fold)))
        return {}
    root = resolve_root(args.root)
    splits = [root / FOLDER / "folds" / fold for fold in FOLDS] + [root / FOLDER]
    written = [split / f"{name}.json" for split in splits for name in ("train", "val", "train_semantic_only")]
    if all(path.is_file() for path in written) and not args.force:  # the json files come last
        logger.info("%s exists: kept (--force rewrites it)", root / FOLDER)
        return {}
    with tempfile.TemporaryDirectory() as tmp:
        wheel = Path(args.wheel) if args.wheel else fetch_wheel(Path(tmp))
        image, ids = read_member(wheel, IMAGE_MEMBER), read_member(wheel, MASK_MEMBER)
    if image.shape != ids.shape or image.ndim != 2:
        raise SystemExit(f"{wheel}: image {image.shape} and mask {ids.shape} are not one 2-D size")
    return write_dataset(root, image, ids.astype(np.int64))


def _options(parser):
    parser.add_argument("--wheel", default=None, help="a stardist wheel already downloaded (default: pip download)")
    parser.add_argument("--print-entries", action="store_true", help="print the DATASETS.SISEG_COCO value and exit")
    parser.add_argument("--fold", default="", help=f"with --print-entries: the fold holding out this tile ({', '.join(FOLDS)}); default: the split with {VAL_TILE} held out")


if __name__ == "__main__":
    run_cli(main)
