"""The embedded val's touching instances in two kinds: **contact** (two objects of one class that
meet along a boundary) and **occlusion** (one covers part of the other).

The two are different problems. A contact line shows in the semantic mask as a concavity, so
the mask alone can place it. Where two objects of one class overlap, the mask shows only their
union, and for shapes such as two ellipses both readings (A whole and B cut, or B whole and A
cut) fit it equally: only the image, where each object has its own shade, tells which is on
top. The kinds are not stored in the dataset (its files stay as they are): they come from
replaying the generator, which is deterministic, scene by scene.
"""
import contextlib
import copy
import io
from typing import Dict, List

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from ..data.synthetic import draw_scene, image_rng
from ..errors import InputError
from .subset_coco_evaluation import subset_coco_api

KINDS = ("contact", "occlusion")


def touching_kinds(coco: COCO, split: str, seed: int) -> Dict[int, str]:
    """{annotation id: "contact" or "occlusion"} for the touching annotations of ``coco``, the
    split ``split`` generated with ``seed``; an error when a replayed scene does not match its
    annotations (the files came from another generator version or seed)."""
    kinds = {}
    for image in coco.dataset["images"]:  # a loop over scenes: each is replayed once
        scene = draw_scene(image_rng(seed, split, image["id"] - 1), (image["height"], image["width"]))
        annotations = sorted(coco.imgToAnns[image["id"]], key=lambda a: a["id"])
        areas = [int(mask.sum()) for mask in scene.masks]
        if areas != [a["area"] for a in annotations]:
            raise InputError(f"scene {image['file_name']} of split {split!r} does not replay with seed {seed}: "
                             f"regenerate the dataset or give the seed it was made with")
        for annotation, overlapping in zip(annotations, scene.overlapping):
            if annotation.get("touching"):
                kinds[annotation["id"]] = KINDS[int(overlapping)]
    return kinds


def subset_metrics(coco: COCO, results: List[dict], ids) -> dict:
    """COCO segm AP, AP50, AP75 (in %) of ``results`` on the annotations ``ids`` alone (the others
    are crowd regions: detections on them count neither way); ``count`` = how many."""
    ids = set(ids)
    flagged = copy.deepcopy(coco.dataset)
    for annotation in flagged["annotations"]:
        annotation["_subset"] = annotation["id"] in ids
    base = COCO()
    base.dataset = flagged
    with contextlib.redirect_stdout(io.StringIO()):
        base.createIndex()
        subset = subset_coco_api(base, "_subset")
        evaluation = COCOeval(subset, subset.loadRes(copy.deepcopy(results)) if results else COCO(), "segm")
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    stats = np.maximum(evaluation.stats[:3], 0) * 100
    return {"AP": float(stats[0]), "AP50": float(stats[1]), "AP75": float(stats[2]), "count": len(ids)}
