"""A picture grid: one row per image, one titled column per panel, saved as PNG."""
from typing import List, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def save_grid(rows: List[Sequence[np.ndarray]], titles: Sequence[str], path: str, cell: float = 2.6):
    """Write ``rows`` (lists of RGB uint8 arrays, same length as ``titles``) to ``path``."""
    fig, axes = plt.subplots(
        len(rows), len(titles), figsize=(cell * len(titles), cell * len(rows)), squeeze=False
    )
    for r, row in enumerate(rows):
        for c, panel in enumerate(row):
            ax = axes[r][c]
            ax.imshow(panel, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(titles[c], fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
