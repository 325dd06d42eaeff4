"""One picture row per image: what SISeg sees, what it computes, what it predicts."""
from typing import Callable, List

import numpy as np
import torch
from detectron2.data.detection_utils import convert_image_to_rgb
from detectron2.utils.visualizer import ColorMode, Visualizer

from .colorize import displacement_to_rgb, gray_to_rgb, labels_to_rgb

DRAW_SCALE = 2.0  # Detectron2's Visualizer labels are sized for large photos
TITLES = (
    "image", "semantic mask (input)", "displacement field", "boundary map",
    "centres (white) + groups", "SISeg instances", "connected components", "ground truth",
)


def prediction_row(record: dict, mapper: Callable, siseg, baseline, metadata, image_format: str):
    """The panels of ``TITLES`` for one dataset record; ``siseg`` and ``baseline`` are models
    with the displacement and the connected-components grouping."""
    x = mapper(record)
    trace = {}
    with torch.no_grad():
        ours = siseg.inference([x], traces=[trace])[0]["instances"].to("cpu")
        theirs = baseline([x])[0]["instances"].to("cpu")
    image = convert_image_to_rgb(x["image"].permute(1, 2, 0), image_format)
    return [
        image,
        labels_to_rgb(trace["semantic"], metadata.get("stuff_colors")),
        displacement_to_rgb(trace["displacement"]),
        gray_to_rgb(trace["boundary"]),
        groups_picture(trace),
        draw_instances(image, ours, metadata),
        draw_instances(image, theirs, metadata),
        draw_annotations(image, record, metadata),
    ]


def groups_picture(trace: dict) -> np.ndarray:
    """The grouping: each group in a colour, its centre white (votes: the modes, drawn at the
    groups' resolution; IRNet: the centroid regions)."""
    groups = labels_to_rgb(trace["assignment"], seed=1)
    if "centroids" in trace:
        groups[trace["centroids"].cpu().numpy() > 0] = 255
        return groups
    scale = groups.shape[0] / trace["displacement"].shape[-2]  # head grid -> groups' grid
    for y, x in (trace["centres"].cpu().numpy() * scale).round().astype(int):  # a few points
        groups[max(y - 1, 0):y + 2, max(x - 1, 0):x + 2] = 255
    return groups


def draw_instances(image: np.ndarray, instances, metadata) -> np.ndarray:
    visualizer = Visualizer(image, metadata, scale=DRAW_SCALE, instance_mode=ColorMode.IMAGE)
    return visualizer.draw_instance_predictions(instances).get_image()


def draw_annotations(image: np.ndarray, record: dict, metadata) -> np.ndarray:
    """The record's instance annotations only (not its semantic mask)."""
    annotations = {k: v for k, v in record.items() if k != "sem_seg_file_name"}
    visualizer = Visualizer(image, metadata, scale=DRAW_SCALE, instance_mode=ColorMode.IMAGE)
    return visualizer.draw_dataset_dict(annotations).get_image()


def prediction_rows(records: List[dict], *args) -> List[list]:
    return [prediction_row(record, *args) for record in records]
