"""Grouped bar charts of a comparison: one group per metric, one bar per method."""
from typing import Dict, List, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def save_bar_chart(methods: Sequence[str], panels: Dict[str, Dict[str, List[float]]], path: str):
    """``panels``: {panel title: {metric: one value per method}}, drawn side by side and
    written to ``path`` (PNG). Missing values (NaN) are left out, not drawn as zero."""
    fig, axes = plt.subplots(
        1, len(panels), figsize=(4.5 * len(panels) + 1, 4.2), squeeze=False,
        gridspec_kw={"width_ratios": [max(len(m), 1) for m in panels.values()]},
    )
    colors = plt.get_cmap("tab10").colors
    width = 0.8 / max(len(methods), 1)
    for ax, (title, metrics) in zip(axes[0], panels.items()):
        x = np.arange(len(metrics))
        for i, method in enumerate(methods):
            values = np.array([metrics[m][i] for m in metrics], dtype=float)
            ax.bar(x + (i - (len(methods) - 1) / 2) * width, values, width,
                   color=colors[i % len(colors)], label=method)
        ax.set_xticks(x, list(metrics), fontsize=9)
        ax.set_title(title, fontsize=11)
        ax.grid(axis="y", alpha=0.3)
        ax.set_axisbelow(True)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(len(methods), 3), fontsize=9, frameon=False)
    fig.tight_layout(rect=(0, 0.06 * ((len(methods) + 2) // 3) + 0.02, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)
