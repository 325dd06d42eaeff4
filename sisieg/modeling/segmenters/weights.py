"""Checks shared by the segmenters that load files: the file exists, the weights fit."""
import os
from typing import Sequence

SHOWN = 8  # keys listed per kind of mismatch


def require_file(path: str, key: str, what: str) -> str:
    """``path`` when it is a file, else FileNotFoundError naming the config key and ``what``."""
    if not path or not os.path.isfile(path):
        raise FileNotFoundError(f"{key}: {what} not found at {path!r} (expected an existing file)")
    return path


def check_weights_match(
    path: str,
    model_name: str,
    missing: Sequence[str],
    unexpected: Sequence[str],
    wrong_shapes: Sequence[str] = (),
    hint: str = "Check the architecture / config the checkpoint was trained with.",
):
    """ValueError naming the file and the keys when a checkpoint does not fit the model."""
    kinds = {"missing keys": missing, "unexpected keys": unexpected, "wrong shapes": wrong_shapes}
    problems = [f"{kind} {listed(keys)}" for kind, keys in kinds.items() if keys]
    if problems:
        raise ValueError(
            f"weights {path} do not match {model_name}: " + "; ".join(problems)
            + ". " + hint
        )


def listed(keys: Sequence[str]) -> str:
    """``(count): first, second, ...``"""
    more = ", ..." if len(keys) > SHOWN else ""
    return f"({len(keys)}): " + ", ".join(list(keys)[:SHOWN]) + more
