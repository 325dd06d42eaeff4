#!/usr/bin/env python
"""Draw SISeg's instances on images (CPU or GPU), Detectron2-demo style.

    python tools/demo.py --config-file configs/shapes/siseg_label_free.yaml \
        --input datasets/sisieg_shapes/val/images --semantic-dir datasets/sisieg_shapes/val/semantic \
        --output output/demo MODEL.WEIGHTS output/shapes/siseg_label_free/model_final.pth

``--input`` takes image files and/or folders. The "oracle" segmenter needs each image's
semantic mask: ``--semantic-dir`` holds ``<image stem>.png`` files of class ids.

Every good image is drawn; a bad one (unreadable, a mask of another size or with ids out of
range, too large, no mask) is one line on the console and in ``<output>/failed.txt``, and the
run ends with a summary and exit status 1 when any failed. ``--debug`` shows tracebacks.
"""
import argparse
import glob
import os
import sys

import sisieg  # noqa: F401  isort: skip  (first: puts Detectron2's compiled-ops placeholder in place)
import torch
import tqdm
from PIL import Image
from detectron2.data import MetadataCatalog
from detectron2.data.detection_utils import convert_image_to_rgb

from sisieg.data.dataset_mapper import SISegDatasetMapper
from sisieg.engine import build_config
from sisieg.engine.runs import load_model
from sisieg.errors import InputError
from sisieg.utils.cli import USER_ERRORS, FailureReport, debugging, run
from sisieg.visualization.prediction_panels import draw_instances

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config-file", required=True, help="the config the model was trained with")
    parser.add_argument("--input", nargs="+", required=True, help="image files and/or folders")
    parser.add_argument("--semantic-dir", help="folder of <image stem>.png semantic masks")
    parser.add_argument("--output", required=True, help="folder for the drawn images")
    parser.add_argument("opts", nargs=argparse.REMAINDER, help="KEY VALUE config overrides")
    return parser.parse_args()


def list_images(inputs):
    paths = []
    for item in inputs:
        if os.path.isdir(item):
            paths += sorted(p for p in glob.glob(os.path.join(item, "*")) if p.lower().endswith(IMAGE_SUFFIXES))
        elif os.path.isfile(item):
            paths.append(item)
        else:
            raise InputError(f"--input {item}: no such file or folder")
    if not paths:
        raise InputError(f"--input {' '.join(inputs)}: no images found")
    return paths


def record_for(path: str, semantic_dir: str) -> dict:
    record = {"file_name": path}
    if semantic_dir:
        mask = os.path.join(semantic_dir, os.path.splitext(os.path.basename(path))[0] + ".png")
        if not os.path.isfile(mask):
            raise InputError(f"{path}: its semantic mask {mask} does not exist")
        record["sem_seg_file_name"] = mask
    return record


def draw(path: str, args, cfg, model, mapper, metadata) -> str:
    """Draw the instances of one image into the output folder; the file written."""
    x = mapper(record_for(path, args.semantic_dir))
    with torch.no_grad():
        instances = model([x])[0]["instances"].to("cpu")
    image = convert_image_to_rgb(x["image"].permute(1, 2, 0), cfg.INPUT.FORMAT)
    out = os.path.join(args.output, os.path.splitext(os.path.basename(path))[0] + ".png")
    Image.fromarray(draw_instances(image, instances, metadata)).save(out)
    return out


def main():
    args = parse_args()
    paths = list_images(args.input)
    cfg = build_config(args.config_file, args.opts)
    model = load_model(cfg, cfg.MODEL.WEIGHTS)
    mapper = SISegDatasetMapper(cfg, is_train=False)
    metadata = MetadataCatalog.get(cfg.DATASETS.TEST[0] if cfg.DATASETS.TEST else "__unused")
    os.makedirs(args.output, exist_ok=True)
    report = FailureReport(os.path.join(args.output, "failed.txt"))
    written = 0
    for path in tqdm.tqdm(paths, desc="demo"):
        try:
            draw(path, args, cfg, model, mapper, metadata)
            written += 1
        except USER_ERRORS as e:
            if debugging():
                raise
            report.add(path, e)
    print(report.summary(written, args.output))
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(run(main))
