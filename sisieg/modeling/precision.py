"""``MODEL.SISEG.TRAIN_PRECISION``: the training networks in float32, or under bfloat16 autocast.

bfloat16 keeps float32's range, so no loss scaling is needed; targets, losses and the optimiser
stay in float32 (their sums over many pixels need its precision); inference always runs in
float32. On a CPU with native bfloat16 (AVX512-BF16 or AMX) a training step of the shapes recipe
takes 0.73x its float32 time (``python tools/benchmark_training_step.py --compare precision``:
0.408 against 0.560 s), a whole iteration of the trainer, data loading beside it, about 0.78x; a
CPU without it would emulate bfloat16, slower than float32, so "auto" (the recipe's setting)
takes bfloat16 only where it is native.
"""
import contextlib
import functools
import logging

import torch
from detectron2.utils.logger import log_first_n

TRAIN_PRECISIONS = ("float32", "bfloat16", "auto")


@functools.lru_cache(maxsize=None)  # asked at every training step; the answer never changes
def native_bfloat16(device: torch.device) -> bool:
    """Whether ``device`` runs bfloat16 natively (CPU: oneDNN's check; CUDA: the GPU's)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return device.type == "cpu" and bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def autocast_dtype(precision: str, device: torch.device):
    """The autocast dtype of ``precision`` on ``device``: None (float32) or torch.bfloat16."""
    if precision == "float32" or (precision == "auto" and not native_bfloat16(device)):
        return None
    return torch.bfloat16


def training_autocast(precision: str, device: torch.device):
    """The context the training networks run in (what it chose is said once in the log)."""
    dtype = autocast_dtype(precision, device)
    native = native_bfloat16(device)
    if precision == "bfloat16" and not native:
        log_first_n(logging.WARNING, f"MODEL.SISEG.TRAIN_PRECISION bfloat16 on a {device.type} without native "
                    f"bfloat16: training is slower than in float32 here; set it to float32 or auto", key="message")
    elif precision == "auto":
        log_first_n(logging.INFO, f"MODEL.SISEG.TRAIN_PRECISION auto: training in {'bfloat16' if dtype else 'float32'} "
                    f"({'native' if native else 'no native'} bfloat16 on this {device.type})", key="message")
    return contextlib.nullcontext() if dtype is None else torch.autocast(device.type, dtype=dtype)
