"""Checks shared by whatever loads weights files (segmenters, sisieg's checkpointer): the file
exists, the weights fit."""
import os
from typing import Sequence
from ...errors import InputError

SHOWN = 8  # keys listed per kind of mismatch
RETRAINED_HINT = "Check the architecture / config the checkpoint was trained with."


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
    hint: str = RETRAINED_HINT,
):
    """ValueError naming the file and the keys when a checkpoint does not fit the model."""
    kinds = {"missing keys": missing, "unexpected keys": unexpected, "wrong shapes": wrong_shapes}
    problems = [f"{kind} {listed(keys)}" for kind, keys in kinds.items() if keys]
    if problems:
        raise InputError(
            f"weights {path} do not match {model_name}: " + "; ".join(problems)
            + ". " + hint
        )


def check_incompatible_keys(path: str, model_name: str, incompatible, hint: str = RETRAINED_HINT):
    """``check_weights_match`` for the incompatible keys of a Detectron2 / fvcore checkpointer
    load; a key of the wrong shape is reported once, not also as missing (it was not loaded)."""
    wrong_shapes = [key for key, *_ in incompatible.incorrect_shapes]
    missing = [key for key in incompatible.missing_keys if key not in wrong_shapes]
    check_weights_match(path, model_name, missing, incompatible.unexpected_keys, wrong_shapes, hint)


def listed(keys: Sequence[str]) -> str:
    """``(count): first, second, ...``"""
    more = ", ..." if len(keys) > SHOWN else ""
    return f"({len(keys)}): " + ", ".join(list(keys)[:SHOWN]) + more
