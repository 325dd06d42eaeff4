"""Speed, memory, parameters and FLOPs of SISeg and Detectron2's Mask R-CNN, side by side.

Each (model, size) is measured in a fresh process (``python -m sisieg.engine.benchmark``)
so that its peak memory is its own; ``tools/benchmark.py`` runs them all and prints the
table. Weights are random (timing does not depend on them); the scene is the synthetic
generator's at the requested size, the same pixels for both models.
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

from ..data.synthetic import draw_scene
from .setup import build_config
from .timing import ForwardTimer

MASK_RCNN_CONFIG = "COCO-InstanceSegmentation/mask_rcnn_R_50_FPN_3x.yaml"
SISEG_CONFIG = "configs/voc/siseg_oracle_R50_bs14_20ep.yaml"
MASK_RCNN_DETECTIONS = 20  # random weights score every box alike: keep a realistic count


def build_mask_rcnn(device: str, num_classes: int):
    cfg = get_cfg()
    cfg.merge_from_file(model_zoo.get_config_file(MASK_RCNN_CONFIG))
    cfg.merge_from_list([
        "MODEL.WEIGHTS", "", "MODEL.DEVICE", device, "MODEL.ROI_HEADS.NUM_CLASSES", str(num_classes),
        "MODEL.ROI_HEADS.SCORE_THRESH_TEST", "0.0", "TEST.DETECTIONS_PER_IMAGE", str(MASK_RCNN_DETECTIONS),
    ])
    return build_model(cfg).eval()


def build_siseg(config: str, device: str, network_only: bool):
    cfg = build_config(config, [
        "MODEL.WEIGHTS", "", "MODEL.DEVICE", device, "TEST.SISEG.NETWORK_ONLY_SPEED", str(network_only),
    ])
    return build_model(cfg).eval(), cfg.MODEL.SISEG.NUM_CLASSES


def scene_input(size: int, device: str) -> dict:
    """A synthetic scene of size x size: image (uint8 CHW), semantic mask, original size."""
    scene = draw_scene(np.random.default_rng(0), (size, size))
    return {
        "image": torch.from_numpy(np.ascontiguousarray(scene.image.transpose(2, 0, 1))).to(device),
        "sem_seg": torch.from_numpy(scene.semantic.astype(np.int64)).to(device),
        "height": size, "width": size, "file_name": f"scene_{size}",
    }


def parameter_counts(model) -> dict:
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    frozen = sum(p.numel() for p in model.parameters() if not p.requires_grad)
    return {"params_trainable": trainable, "params_frozen": frozen}


def measure(model, inputs: dict, repeats: int, device: str) -> dict:
    """Warm up once, then time ``repeats`` batch-1 forwards; peak memory of the process."""
    with torch.no_grad():
        model([inputs])  # warm-up: allocations, caches, lazy initialisation
        timer = ForwardTimer(model)
        for _ in range(repeats):
            timer([inputs])
    result = {"times": timer.times, "median": statistics.median(timer.times), **timer.summary()}
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
            return self.model._heads([record], [record["sem_seg"]])
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
    torch.set_num_threads(args.threads)
    inputs = scene_input(args.size, args.device)
    siseg, num_classes = build_siseg(args.siseg_config, args.device, args.model == "siseg-networks")
    model = siseg if args.model.startswith("siseg") else build_mask_rcnn(args.device, num_classes)
    result = {"model": args.model, "size": args.size, "threads": torch.get_num_threads(),
              **parameter_counts(model), **measure(model, inputs, args.repeats, args.device)}
    if args.model != "siseg":  # SISeg's FLOPs are its networks': counted on "siseg-networks"
        result["gflops"] = flops(model, inputs, "heads" if args.model == "siseg-networks" else "model")
    return result


def main():
    parser = argparse.ArgumentParser(description="one benchmark measurement (see tools/benchmark.py)")
    parser.add_argument("--model", choices=("siseg", "siseg-networks", "mask-rcnn"), required=True)
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--siseg-config", default=SISEG_CONFIG)
    print(json.dumps(worker(parser.parse_args())))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
