"""Markdown tables of COCO results, overall and on the touching subset, one row per method.

With a floor row (connected components) and a ceiling row (perfect heads) the table also reads
each result as the share of the floor -> ceiling headroom it captures, overall and touching.
"""
import math
from typing import Dict, List, Optional, Tuple

COLUMNS = (
    ("AP", "segm", "AP"), ("AP50", "segm", "AP50"), ("AP75", "segm", "AP75"),
    ("AP touching", "segm_touching", "AP"), ("AP50 touching", "segm_touching", "AP50"),
    ("AP75 touching", "segm_touching", "AP75"),
)


def _format(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.1f}" if isinstance(value, float) else str(value)


def headroom_captured(value, floor, ceiling) -> Optional[float]:
    """(value - floor) / (ceiling - floor); None when a figure is missing or there is no headroom."""
    if None in (value, floor, ceiling) or any(isinstance(v, float) and math.isnan(v) for v in (value, floor, ceiling)):
        return None
    if ceiling - floor <= 1e-9:
        return None
    return (value - floor) / (ceiling - floor)


def _ap(results: Dict, task: str):
    return results.get(task, {}).get("AP")


def with_headroom(rows, floor: str, ceiling: str):
    """``rows`` with two extra columns, the headroom captured overall and on touching objects."""
    by_name = {name: results for name, results, _ in rows}
    if floor not in by_name or ceiling not in by_name:
        return rows
    out = []
    for name, results, extra in rows:
        extra = dict(extra)
        for column, task in (("headroom captured", "segm"), ("headroom captured, touching", "segm_touching")):
            share = headroom_captured(*(_ap(r, task) for r in (results, by_name[floor], by_name[ceiling])))
            extra[column] = "n/a" if share is None else f"{share:.2f}"
        out.append((name, results, extra))
    return out


def results_table(rows: List[Tuple[str, Dict, Dict[str, object]]], floor: str = None, ceiling: str = None) -> str:
    """rows: (method, Detectron2 results {"segm": {...}, ...}, extra columns) -> markdown.
    ``floor`` / ``ceiling``: names of the rows the headroom columns are measured between."""
    if floor and ceiling:
        rows = with_headroom(rows, floor, ceiling)
    extra_names = list(dict.fromkeys(k for _, _, extra in rows for k in extra))
    header = ["method", *(c[0] for c in COLUMNS), *extra_names]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for method, results, extra in rows:
        cells = [method]
        cells += [_format(results.get(task, {}).get(metric)) for _, task, metric in COLUMNS]
        cells += [_format(extra.get(name)) for name in extra_names]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
