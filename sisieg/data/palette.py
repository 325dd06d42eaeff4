"""The PASCAL VOC colour map: the palette of VOC's label PNGs, used for every dataset's colours.

Colour of id ``i``: its bits dealt round-robin to R, G, B, most significant bits first
(``sisieg.modeling.input_encoding.label_palette`` renders masks with it).
"""
import numpy as np


def voc_palette(num_ids: int = 256) -> np.ndarray:
    """(num_ids, 3) uint8 colours; id 0 is black, 255 (VOC's void) is (224, 224, 192)."""
    ids = np.arange(num_ids)
    palette = np.zeros((num_ids, 3), dtype=np.int64)
    for bit in range(8):  # bit positions of the id, not pixels
        for channel in range(3):
            palette[:, channel] |= ((ids >> (3 * bit + channel)) & 1) << (7 - bit)
    return palette.astype(np.uint8)


def palette_colors(ids) -> list:
    """``[[r, g, b], ...]`` of ``ids``, as Detectron2's metadata stores colours."""
    return voc_palette(256)[np.asarray(ids, dtype=np.int64) % 256].tolist()
