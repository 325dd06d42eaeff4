"""Markdown tables of COCO results, overall and on the touching subset, one row per method."""
import math
from typing import Dict, List, Tuple

COLUMNS = (
    ("AP", "segm", "AP"), ("AP50", "segm", "AP50"), ("AP75", "segm", "AP75"),
    ("AP touching", "segm_touching", "AP"), ("AP50 touching", "segm_touching", "AP50"),
    ("AP75 touching", "segm_touching", "AP75"),
)


def _format(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.1f}" if isinstance(value, float) else str(value)


def results_table(rows: List[Tuple[str, Dict, Dict[str, object]]]) -> str:
    """rows: (method, Detectron2 results {"segm": {...}, ...}, extra columns) -> markdown."""
    extra_names = list(dict.fromkeys(k for _, _, extra in rows for k in extra))
    header = ["method", *(c[0] for c in COLUMNS), *extra_names]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for method, results, extra in rows:
        cells = [method]
        cells += [_format(results.get(task, {}).get(metric)) for _, task, metric in COLUMNS]
        cells += [_format(extra.get(name)) for name in extra_names]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
