"""Writing a split of the synthetic shapes dataset to disk, atomically.

Layout under ``<root>/sisieg_shapes/``: ``<split>/images/<id:06d>.png`` (RGB),
``<split>/semantic/<id:06d>.png`` (uint8 class ids), ``annotations/instances_<split>.json``
(COCO, RLE masks, a ``touching`` flag per annotation) and, written last,
``<split>.complete.json``, the manifest that marks the split complete.
"""
import json
import os
import shutil
import zlib
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np
import pycocotools.mask as mask_util
from tqdm import tqdm

from .shapes import SHAPE_CLASSES, draw_scene

GENERATOR_VERSION = 2  # bump when scenes or files change, so existing splits are regenerated
# 2: colours follow the class (1: random colours); the masks and annotations are those of 1
DATASET_DIR = "sisieg_shapes"


class SplitPaths(NamedTuple):
    split_dir: Path
    image_root: Path
    sem_seg_root: Path
    json_file: Path
    manifest: Path


def split_paths(root, split) -> SplitPaths:
    """Where the files of ``split`` live under ``root``."""
    base = Path(root) / DATASET_DIR
    split_dir = base / split
    return SplitPaths(
        split_dir,
        split_dir / "images",
        split_dir / "semantic",
        base / "annotations" / f"instances_{split}.json",
        base / f"{split}.complete.json",
    )


def ensure_split(root, split, num_images, image_size=(256, 256), seed=0, progress=True) -> Path:
    """The split directory, generated first unless a manifest with these parameters exists."""
    paths = split_paths(root, split)
    wanted = _parameters(split, num_images, image_size, seed)
    complete = paths.split_dir.is_dir() and paths.json_file.is_file()
    if complete and _read_manifest(paths.manifest) == wanted:
        return paths.split_dir
    return generate_split(root, split, num_images, image_size, seed, progress)


def generate_split(root, split, num_images, image_size=(256, 256), seed=0, progress=True) -> Path:
    """Write ``num_images`` scenes of ``image_size`` (height, width) as ``split``; return its
    directory. Files go to temporary names, renamed into place before the manifest is written."""
    paths = split_paths(root, split)
    paths.manifest.unlink(missing_ok=True)
    _remove_leftovers(paths)
    tmp_dir = paths.split_dir.with_name(f"{split}.tmp-{os.getpid()}")
    tmp_json = paths.json_file.with_name(f"{paths.json_file.name}.tmp-{os.getpid()}")
    coco = _write_images(tmp_dir, split, num_images, image_size, seed, progress)
    paths.json_file.parent.mkdir(parents=True, exist_ok=True)
    tmp_json.write_text(json.dumps(coco), encoding="utf-8")
    shutil.rmtree(paths.split_dir, ignore_errors=True)
    os.replace(tmp_dir, paths.split_dir)
    os.replace(tmp_json, paths.json_file)
    _write_atomically(paths.manifest, json.dumps(_parameters(split, num_images, image_size, seed)))
    return paths.split_dir


def image_rng(seed, split, index) -> np.random.Generator:
    """The generator of image ``index`` of ``split``: independent of generation order."""
    return np.random.default_rng([seed, zlib.crc32(split.encode("utf-8")), index])


def _write_images(split_dir, split, num_images, image_size, seed, progress) -> dict:
    """Write images and semantic PNGs under ``split_dir``; return the COCO dict."""
    (split_dir / "images").mkdir(parents=True)
    (split_dir / "semantic").mkdir()
    coco = {
        "info": {"description": f"sisieg_shapes {split}", "version": GENERATOR_VERSION},
        "images": [],
        "annotations": [],
        "categories": [{"id": i + 1, "name": name} for i, name in enumerate(SHAPE_CLASSES)],
    }
    for index in tqdm(range(num_images), desc=f"sisieg_shapes {split}", disable=not progress):
        scene = draw_scene(image_rng(seed, split, index), tuple(image_size))
        image_id = index + 1
        file_name = f"{image_id:06d}.png"
        cv2.imwrite(str(split_dir / "images" / file_name), scene.image[..., ::-1])
        cv2.imwrite(str(split_dir / "semantic" / file_name), scene.semantic)
        height, width = scene.semantic.shape
        coco["images"].append(
            {"id": image_id, "file_name": file_name, "height": height, "width": width}
        )
        first_id = len(coco["annotations"]) + 1
        coco["annotations"] += _annotations(scene, image_id, first_id)
    return coco


def _annotations(scene, image_id, first_id) -> list:
    """COCO annotations (compressed RLE) of the instances of ``scene``."""
    stacked = np.asfortranarray(np.stack(scene.masks, axis=2).astype(np.uint8))
    annotations = []
    for i, rle in enumerate(mask_util.encode(stacked)):
        annotations.append(
            {
                "id": first_id + i,
                "image_id": image_id,
                "category_id": scene.classes[i] + 1,
                "segmentation": {"size": rle["size"], "counts": rle["counts"].decode("ascii")},
                "area": int(scene.masks[i].sum()),
                "bbox": _bbox(scene.masks[i]),
                "iscrowd": 0,
                "touching": scene.touching[i],
            }
        )
    return annotations


def _bbox(mask) -> list:
    """[x, y, w, h] of the pixels of ``mask``."""
    ys, xs = np.nonzero(mask)
    x0, y0 = int(xs.min()), int(ys.min())
    return [x0, y0, int(xs.max()) - x0 + 1, int(ys.max()) - y0 + 1]


def _parameters(split, num_images, image_size, seed) -> dict:
    return {
        "split": split,
        "num_images": int(num_images),
        "image_size": [int(s) for s in image_size],
        "seed": int(seed),
        "version": GENERATOR_VERSION,
    }


def _read_manifest(path):
    """The manifest's content, or None when it is missing or unreadable."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _remove_leftovers(paths):
    """Remove temporary files and directories left by interrupted runs."""
    for path in (paths.split_dir, paths.json_file, paths.manifest):
        for leftover in path.parent.glob(f"{path.name}.tmp-*"):
            if leftover.is_dir():
                shutil.rmtree(leftover)
            else:
                leftover.unlink()


def _write_atomically(path, text):
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
