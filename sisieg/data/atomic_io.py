"""Writing dataset files atomically: a temporary file next to the target, then ``os.replace``.

A run killed mid-write leaves only ``<name>.tmp-<pid>`` files, which no reader trusts and
``remove_leftovers`` deletes; a file under its final name is always complete.
"""
import json
import os
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

TMP_MARK = ".tmp-"


def temporary_path(path) -> Path:
    """Where ``path`` is written before it is renamed into place."""
    path = Path(path)
    return path.with_name(f"{path.name}{TMP_MARK}{os.getpid()}")


def replace_from_temporary(path, write) -> Path:
    """Call ``write(tmp_path)``, then move the temporary file onto ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_path(path)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_text_atomically(path, text: str) -> Path:
    return replace_from_temporary(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_json_atomically(path, data) -> Path:
    return write_text_atomically(path, json.dumps(data))


def copy_atomically(source, path) -> Path:
    """Copy ``source`` byte for byte to ``path``."""
    return replace_from_temporary(path, lambda tmp: shutil.copyfile(source, tmp))


def save_png_atomically(path, labels: np.ndarray, palette: np.ndarray = None) -> Path:
    """Write (H, W) uint8 ids as a PNG: palette-indexed ("P") with ``palette`` (N, 3), else "L"."""
    labels = np.ascontiguousarray(labels, dtype=np.uint8)
    image = Image.fromarray(labels, mode="L" if palette is None else "P")
    if palette is not None:
        image.putpalette(np.asarray(palette, dtype=np.uint8).reshape(-1).tolist())
    return replace_from_temporary(path, lambda tmp: image.save(tmp, format="PNG"))


def remove_leftovers(folder) -> int:
    """Delete the temporary files that interrupted runs left directly in ``folder``."""
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    leftovers = [p for p in folder.glob(f"*{TMP_MARK}*") if p.is_file()]
    for path in leftovers:
        path.unlink(missing_ok=True)
    return len(leftovers)
