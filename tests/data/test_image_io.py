"""Input images of every kind: read in the right colours, or an error naming the file."""
import numpy as np
import pytest
from PIL import Image

from sisieg.data.image_io import UnreadableImageError, read_image

RED = (200, 10, 30)


def test_rgb_keeps_channel_order_and_bgr_reverses_it(tmp_path):
    path = tmp_path / "red.png"
    Image.new("RGB", (5, 4), RED).save(path)
    rgb = read_image(str(path), "RGB")
    assert rgb.shape == (4, 5, 3) and rgb.dtype == np.uint8
    assert tuple(rgb[0, 0]) == RED
    assert tuple(read_image(str(path), "BGR")[0, 0]) == RED[::-1]


def test_grayscale_becomes_three_equal_channels(tmp_path):
    path = tmp_path / "gray.png"
    Image.fromarray(np.arange(12, dtype=np.uint8).reshape(3, 4) * 20, mode="L").save(path)
    rgb = read_image(str(path))
    assert rgb.shape == (3, 4, 3)
    assert (rgb[..., 0] == np.arange(12).reshape(3, 4) * 20).all()
    assert (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all()


def test_rgba_drops_alpha_and_keeps_colours(tmp_path):
    path = tmp_path / "rgba.png"
    Image.new("RGBA", (3, 3), (*RED, 40)).save(path)
    assert tuple(read_image(str(path))[1, 1]) == RED


def test_palette_image_gives_its_colours_not_its_indices(tmp_path):
    path = tmp_path / "palette.png"
    image = Image.fromarray(np.array([[0, 1], [1, 0]], dtype=np.uint8), mode="P")
    image.putpalette([0, 0, 0, *RED] + [0] * (256 - 2) * 3)
    image.save(path)
    rgb = read_image(str(path))
    assert tuple(rgb[0, 1]) == RED and tuple(rgb[0, 0]) == (0, 0, 0)


def test_sixteen_bit_grayscale_is_rescaled_not_clipped(tmp_path):
    path = tmp_path / "depth16.png"
    values = np.array([[0, 257 * 100], [65535, 257 * 50]], dtype=np.uint16)
    Image.fromarray(values).save(path)  # a 16-bit PNG
    rgb = read_image(str(path))
    assert rgb[..., 0].tolist() == [[0, 100], [255, 50]]  # PIL's convert("RGB") would clip to 255


def test_float_images_are_a_clear_error(tmp_path):
    path = tmp_path / "float.tif"
    Image.fromarray(np.ones((2, 2), dtype=np.float32)).save(path)
    with pytest.raises(UnreadableImageError, match=r"float.tif: floating-point \(mode F\)"):
        read_image(str(path))


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_truncated_file_is_an_error_naming_it(tmp_path, suffix):
    path = tmp_path / f"cut{suffix}"
    noise = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    Image.fromarray(noise).save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(UnreadableImageError, match=f"{path}: cannot read the image"):
        read_image(str(path))


def test_not_an_image_and_missing_file_are_errors_naming_them(tmp_path):
    text = tmp_path / "notes.png"
    text.write_text("not a picture")
    with pytest.raises(UnreadableImageError, match=f"{text}: cannot read the image"):
        read_image(str(text))
    with pytest.raises(UnreadableImageError, match="missing.png: cannot read the image"):
        read_image(str(tmp_path / "missing.png"))


def test_exif_orientation_is_applied(tmp_path):
    path = tmp_path / "rotated.jpg"
    image = Image.new("RGB", (6, 2), RED)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    image.save(path, exif=exif.tobytes())
    assert read_image(str(path)).shape == (6, 2, 3)  # displayed upright: 2 wide, 6 high
