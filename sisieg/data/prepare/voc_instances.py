"""VOC 2012 instances in COCO format, from ``SegmentationObject`` + ``SegmentationClass``.

``SegmentationObject`` PNGs hold instance ids 1..n, 0 = background, 255 = void (object
borders, difficult regions). Each instance becomes one annotation (RLE) whose category is the
most frequent class id 1..20 of ``SegmentationClass`` under it (the two files agree in VOC);
void pixels belong to no instance and no annotation is made for them (they stay 255, ignore,
in the semantic masks). Category ids are 1..20 in VOC order; image ids 1..N in list order.
"""
import numpy as np
from tqdm import tqdm

from ..datasets.prepared import read_stems
from ..datasets.voc import VOC_CLASSES, VocLayout
from ..semantic_io import read_semantic_mask
from .coco_instances import coco_annotation, pair_counts
from .common import report_failure

VOID = 255


def voc_instances(object_ids: np.ndarray, class_ids: np.ndarray, source: str) -> list:
    """``[(category_id 1..20, mask), ...]`` per instance id of ``object_ids``, in id order."""
    inside = (object_ids > 0) & (object_ids != VOID)
    labelled = inside & (class_ids > 0) & (class_ids <= len(VOC_CLASSES))
    ids = np.unique(object_ids[inside])
    counts = pair_counts(object_ids[labelled], class_ids[labelled])[ids]
    unlabelled = ids[counts.sum(axis=1) == 0]
    if unlabelled.size:
        raise ValueError(f"{source}: instances {unlabelled.tolist()} cover no class 1..20 pixel")
    return [(int(c), object_ids == i) for i, c in zip(ids, counts.argmax(axis=1))]


def voc_instance_coco(layout: VocLayout, split: str, progress: bool = True):
    """``(coco dict, stems left out)`` of the images of ``split`` with a JPEG and both PNGs."""
    images, annotations, left_out = [], [], []
    stems = read_stems(layout.split_list(split))
    for stem in tqdm(stems, desc=f"VOC {split} instances", disable=not progress):
        png = f"{stem}.png"
        files = [layout.images / f"{stem}.jpg", layout.class_pngs / png, layout.object_pngs / png]
        if not all(f.is_file() for f in files):
            left_out.append(stem)
            continue
        try:
            class_ids, object_ids = (read_semantic_mask(str(f)) for f in files[1:])
            if class_ids.shape != object_ids.shape:
                raise ValueError(f"{files[1]} and {files[2]} differ in size")
            instances = voc_instances(object_ids, class_ids, str(files[2]))
        except (ValueError, OSError) as e:  # a bad file: named, the others are still prepared
            report_failure(files[2], e)
            continue
        image_id = len(images) + 1
        height, width = class_ids.shape
        image = {"id": image_id, "file_name": files[0].name, "height": height, "width": width}
        images.append(image)
        for category, mask in instances:
            annotations.append(coco_annotation(mask, category, image_id, len(annotations) + 1))
    categories = [{"id": i + 1, "name": name} for i, name in enumerate(VOC_CLASSES)]
    return {"images": images, "annotations": annotations, "categories": categories}, left_out
