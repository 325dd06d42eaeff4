"""Pictures of SISeg's inputs, intermediate maps and predictions."""
from .bar_chart import save_bar_chart
from .colorize import displacement_to_rgb, gray_to_rgb, labels_to_rgb
from .grid import save_grid
from .line_chart import save_line_chart

__all__ = ["save_bar_chart", "displacement_to_rgb", "gray_to_rgb", "labels_to_rgb", "save_grid", "save_line_chart"]
