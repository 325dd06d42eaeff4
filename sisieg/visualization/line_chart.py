"""Line charts of a metric against a swept quantity: one line per series, one panel per metric."""
from typing import Dict, List, Tuple

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def save_line_chart(panels: Dict[str, Dict[str, List[Tuple[float, float]]]], xlabel: str, path: str,
                    references: Dict[str, Dict[str, float]] = None):
    """``panels``: {panel title: {series: [(x, y), ...]}}; ``references``: {panel title:
    {label: y}} drawn as dashed horizontal lines (e.g. connected components). PNG at ``path``."""
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4.2), squeeze=False)
    for ax, (title, series) in zip(axes[0], panels.items()):
        for name, points in series.items():
            points = sorted(points)
            ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=name)
        for label, y in (references or {}).get(title, {}).items():
            ax.axhline(y, linestyle="--", color="gray", label=label)
        ax.set_title(title, fontsize=11)
        ax.set_xlabel(xlabel)
        ax.set_ylim(0, 100)
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
