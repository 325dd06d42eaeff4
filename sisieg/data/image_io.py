"""Reading input images: every PIL mode to 8-bit RGB/BGR, or an error naming the file.

Detectron2's ``read_image`` converts with ``PIL.Image.convert``, which clips 16-bit
grayscale to 255 (an almost white picture, silently). Here 16-bit images are rescaled to
8 bits, grayscale / palette / RGBA / CMYK images become RGB (alpha dropped, palette
applied), EXIF orientation is applied, and a file that cannot be decoded (missing,
truncated, not an image, too large for PIL) is an ``UnreadableImageError`` naming it.
"""
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import InputError

CHANNEL_ORDERS = ("RGB", "BGR")
SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I")


class UnreadableImageError(InputError):
    """An input image that cannot be read; the message names the file and the reason."""


def read_image(path: str, format: str = "RGB") -> np.ndarray:
    """(H, W, 3) uint8 in channel order ``format`` ("RGB" or "BGR")."""
    if format not in CHANNEL_ORDERS:
        raise ValueError(f"image format {format!r} is not supported: use one of {CHANNEL_ORDERS}")
    try:
        with Image.open(path) as image:
            image.load()  # decode now: a truncated file fails here, not later
            image = ImageOps.exif_transpose(image)
            rgb = to_rgb(image, path)
    except UnreadableImageError:
        raise
    except (OSError, SyntaxError, ValueError, UnidentifiedImageError, Image.DecompressionBombError) as e:
        raise UnreadableImageError(f"{path}: cannot read the image ({type(e).__name__}: {e})") from e
    return rgb if format == "RGB" else np.ascontiguousarray(rgb[:, :, ::-1])


def to_rgb(image: Image.Image, path: str) -> np.ndarray:
    """A decoded PIL image as (H, W, 3) uint8 RGB."""
    if image.mode in SIXTEEN_BIT_MODES:
        values = np.asarray(image).astype(np.int64)
        if values.min() < 0 or values.max() > 65535:
            raise UnreadableImageError(
                f"{path}: {image.mode} image with values {values.min()}..{values.max()} outside the "
                f"16-bit range 0..65535; convert it to 8-bit RGB"
            )
        gray = (values * 255 + 32767) // 65535  # 16 -> 8 bits, rounded
        return np.repeat(gray.astype(np.uint8)[:, :, None], 3, axis=2)
    if image.mode == "F":
        raise UnreadableImageError(f"{path}: floating-point (mode F) images are not supported; convert to 8-bit RGB")
    return np.asarray(image.convert("RGB"))


def check_input_pixels(name: str, height: int, width: int, limit: int):
    """InputError naming ``name`` when a network input of height x width has more than ``limit``
    pixels (``MODEL.SISEG.INFERENCE.MAX_INPUT_PIXELS``; 0 = no limit)."""
    if limit and height * width > limit:
        raise InputError(
            f"{name}: network input {width}x{height} = {height * width:,} pixels (after the test "
            f"resize) is above MODEL.SISEG.INFERENCE.MAX_INPUT_PIXELS = {limit:,}, the limit that "
            f"keeps inference within memory: resize inputs with INPUT.MIN_SIZE_TEST / "
            f"INPUT.MAX_SIZE_TEST, or raise the limit (0 = none)"
        )
