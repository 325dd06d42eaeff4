"""Speed, memory, parameters and FLOPs of SISeg and Detectron2's Mask R-CNN, side by side.

Each (model, setting, scene, size) is measured in a fresh process (``python -m
sisieg.engine.benchmark``) so that its peak memory and its caches are its own;
``tools/benchmark.py`` runs them all and prints the table. Weights are random (a network's
time does not depend on them); the post-processing is timed on the perfect heads
(``siseg-postprocessing``), whose instances are the scene's own, so that a crowded scene
costs what its objects cost. Scenes: the embedded generator's (``shapes``, 2-8 objects) or
``crowded`` (``--objects`` ellipses on a grid), the same pixels for every model.
"""
import argparse
import json
import resource
import statistics
import sys

import sisieg  # noqa: F401  isort: skip  (first: puts Detectron2's compiled-ops placeholder in place)
import numpy as np
import torch
from detectron2 import model_zoo
from detectron2.config import get_cfg
from detectron2.modeling import build_model
from fvcore.nn import FlopCountAnalysis
from torch import nn

from ..data.synthetic import crowded_scene, draw_scene
from .setup import REPOSITORY, build_config
from .timing import ForwardTimer

MASK_RCNN_CONFIG = "COCO-InstanceSegmentation/mask_rcnn_R_50_FPN_3x.yaml"
SISEG_SETTINGS = {  # name -> SISeg config, relative to the repository
    "paper": "configs/voc/siseg_oracle_R50_bs14_20ep.yaml",  # ResNet-50 on the mask, IRNet heads, walk
    "recipe": "configs/shapes/siseg_label_free.yaml",  # the recommended recipe: light backbone, votes
    "instance": "configs/shapes/siseg_instance.yaml",  # the recipe with instance labels: + the image, a centre head
    "resnet18": "configs/shapes/siseg_label_free_R18.yaml",  # the previous recipe: ResNet-18, votes
}
MODELS = ("siseg", "siseg-networks", "siseg-postprocessing", "mask-rcnn")
SCENES = ("shapes", "crowded")
MASK_RCNN_DETECTIONS = 100  # random weights score every box alike: Detectron2's default count


def build_mask_rcnn(device: str, num_classes: int):
    cfg = get_cfg()
    cfg.merge_from_file(model_zoo.get_config_file(MASK_RCNN_CONFIG))
    cfg.merge_from_list([
        "MODEL.WEIGHTS", "", "MODEL.DEVICE", device, "MODEL.ROI_HEADS.NUM_CLASSES", str(num_classes),
        "MODEL.ROI_HEADS.SCORE_THRESH_TEST", "0.0", "TEST.DETECTIONS_PER_IMAGE", str(MASK_RCNN_DETECTIONS),
    ])
    return build_model(cfg).eval()


def build_siseg(setting: str, device: str, model: str):
    """The SISeg model of ``setting`` (random weights): end to end, networks only
    (``siseg-networks``) or on perfect heads (``siseg-postprocessing``)."""
    config = SISEG_SETTINGS[setting] if setting in SISEG_SETTINGS else setting
    cfg = build_config(str(REPOSITORY / config), [  # an absolute path stays itself
        "MODEL.WEIGHTS", "", "MODEL.DEVICE", device,
        "TEST.SISEG.NETWORK_ONLY_SPEED", str(model == "siseg-networks"),
        "MODEL.SISEG.ORACLE_HEADS", str(model == "siseg-postprocessing"),
        "TEST.DETECTIONS_PER_IMAGE", "1000",  # a crowded scene keeps all its instances
    ])
    return build_model(cfg).eval(), cfg.MODEL.SISEG.NUM_CLASSES


def scene_input(size: int, device: str, scene: str = "shapes", objects: int = 150) -> dict:
    """A synthetic scene of size x size: image (uint8 CHW), semantic mask, instance ids (for
    the perfect heads), original size."""
    rng = np.random.default_rng(0)
    drawn = draw_scene(rng, (size, size)) if scene == "shapes" else crowded_scene(rng, size, objects)
    ids = np.zeros((size, size), np.int64)
    for k, mask in enumerate(drawn.masks):  # a loop over the scene's objects, building the input
        ids[mask] = k + 1
    return {
        "image": torch.from_numpy(np.ascontiguousarray(drawn.image.transpose(2, 0, 1))).to(device),
        "sem_seg": torch.from_numpy(drawn.semantic.astype(np.int64)).to(device),
        "instance_ids": torch.from_numpy(ids).to(device),
        "height": size, "width": size, "file_name": f"{scene}_{size}", "objects": len(drawn.masks),
    }


def parameter_counts(model) -> dict:
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    frozen = sum(p.numel() for p in model.parameters() if not p.requires_grad)
    return {"params_trainable": trainable, "params_frozen": frozen}


def measure(model, inputs: dict, repeats: int, device: str) -> dict:
    """Warm up once, then time ``repeats`` batch-1 forwards; peak memory of the process and
    the number of instances returned."""
    with torch.no_grad():
        model([inputs])  # warm-up: allocations, caches, lazy initialisation
        timer = ForwardTimer(model)
        for _ in range(repeats):
            output = timer([inputs])[0]
    result = {"times": timer.times, "median": statistics.median(timer.times), **timer.summary()}
    if "instances" in output:
        result["instances"] = len(output["instances"])
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if device.startswith("cuda"):
        result["peak_cuda_mb"] = torch.cuda.max_memory_allocated() / 2**20
    return result


class TensorAdapter(nn.Module):
    """Tensor in, tensors out, as fvcore's tracer wants. ``part``: ``"heads"``, a SISeg
    model's networks (backbone + DFM + CBR) on ``inputs["sem_seg"]``; ``"segmenter"``, its
    frozen segmenter; ``"model"``, a whole Detectron2 model (instances or sem_seg out)."""

    def __init__(self, model, inputs: dict, part: str):
        super().__init__()
        self.model, self.inputs, self.part = model, inputs, part

    def forward(self, image):
        record = dict(self.inputs, image=image)
        if self.part == "heads":
            return tuple(x for x in self.model._heads([record], [record["sem_seg"]]) if x is not None)
        if self.part == "segmenter":
            prediction = self.model.segmenter([record])[0]
            return prediction.labels if prediction.probs is None else prediction.probs
        output = self.model([record])[0]
        if "instances" not in output:
            return output["sem_seg"]
        instances = output["instances"]
        return instances.pred_boxes.tensor, instances.scores, instances.pred_masks


def flops(model, inputs: dict, part: str = "model") -> float:
    """GFLOPs counted by fvcore (convolutions, matrix products; element-wise ops not
    counted) of ``part`` of ``model`` (see TensorAdapter) on one input."""
    with torch.no_grad():
        analysis = FlopCountAnalysis(TensorAdapter(model, inputs, part), (inputs["image"],))
        analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
        return analysis.total() / 1e9


def worker(args) -> dict:
    """One measurement: ``args`` has model, setting, scene, objects, size, repeats, device, threads."""
    torch.set_num_threads(args.threads)
    inputs = scene_input(args.size, args.device, args.scene, args.objects)
    siseg, num_classes = build_siseg(args.setting, args.device, args.model)
    model = siseg if args.model.startswith("siseg") else build_mask_rcnn(args.device, num_classes)
    setting = args.setting if args.model.startswith("siseg") else "R50-FPN"
    result = {"model": args.model, "setting": setting, "scene": args.scene, "objects": inputs["objects"],
              "size": args.size, "threads": torch.get_num_threads(),
              **parameter_counts(model), **measure(model, inputs, args.repeats, args.device)}
    if args.model in ("siseg-networks", "mask-rcnn"):  # SISeg's FLOPs are its networks'
        result["gflops"] = flops(model, inputs, "heads" if args.model == "siseg-networks" else "model")
    return result


def main():
    parser = argparse.ArgumentParser(description="one benchmark measurement (see tools/benchmark.py)")
    parser.add_argument("--model", choices=MODELS, required=True)
    parser.add_argument("--setting", default="recipe", help=f"SISeg: one of {sorted(SISEG_SETTINGS)} or a config file")
    parser.add_argument("--scene", choices=SCENES, default="shapes")
    parser.add_argument("--objects", type=int, default=150, help="objects of the crowded scene")
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    print(json.dumps(worker(parser.parse_args())))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
