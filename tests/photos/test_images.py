"""Images checked by content and re-encoded from their pixels (no database needed)."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from heritage_map.errors import TooLarge
from heritage_map.photos import images


def jpeg_with_gps(size=(64, 48), orientation: int | None = None) -> bytes:
    image = Image.new("RGB", size, (200, 120, 40))
    image.putpixel((0, 0), (255, 0, 0))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x8825] = {1: "N", 2: (30.0, 28.0, 12.0), 3: "W", 4: (8.0, 52.0, 37.0)}  # GPS IFD
    if orientation:
        exif[0x0112] = orientation
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, comment=b"secret comment")
    return out.getvalue()


def png(size=(40, 30), mode="RGBA") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, (10, 200, 10, 128) if mode == "RGBA" else (10, 200, 10)).save(out, "PNG")
    return out.getvalue()


def test_a_jpeg_with_gps_comes_out_with_no_exif_nor_comment():
    original = jpeg_with_gps()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)  # the test photo has a GPS position
    encoded = images.process(original, 1_000_000)
    for data in (encoded.data, encoded.thumbnail):
        out = Image.open(io.BytesIO(data))
        assert out.format == "JPEG"
        assert dict(out.getexif()) == {}
        assert "exif" not in out.info and "comment" not in out.info and "icc_profile" not in out.info
        assert b"PhoneMaker" not in data and b"secret comment" not in data and b"Exif" not in data
    assert encoded.media_type == "image/jpeg" and (encoded.width, encoded.height) == (64, 48)


def test_the_exif_orientation_is_applied_before_it_is_dropped():
    encoded = images.process(jpeg_with_gps(size=(64, 48), orientation=6), 1_000_000)  # 6: turn 90° clockwise
    assert (encoded.width, encoded.height) == (48, 64)


def test_a_png_is_read_as_a_png_whatever_it_is_called_and_keeps_its_transparency():
    encoded = images.process(png(), 1_000_000)
    out = Image.open(io.BytesIO(encoded.data))
    assert (out.format, out.mode, encoded.media_type) == ("PNG", "RGBA", "image/png")


def test_webp_is_accepted():
    buffer = io.BytesIO()
    Image.new("RGB", (20, 20), "blue").save(buffer, "WEBP")
    assert images.process(buffer.getvalue(), 1_000_000).media_type == "image/webp"


@pytest.mark.parametrize("data", [
    b"<html><body><script>alert(1)</script></body></html>",
    b"   <!DOCTYPE html><p>hello",
    b"just some text, not an image",
    b"",
    b"\xff\xd8\xff\xe0" + b"\0" * 100,  # a JPEG's first bytes and nothing after
])
def test_what_is_not_an_image_is_refused(data):
    with pytest.raises(images.NotAnImage):
        images.process(data, 1_000_000)


def test_a_gif_or_bmp_is_refused_by_type():
    for fmt in ("GIF", "BMP"):
        buffer = io.BytesIO()
        Image.new("RGB", (8, 8)).save(buffer, fmt)
        with pytest.raises(images.NotAnImage, match="not a JPEG, PNG or WebP"):
            images.process(buffer.getvalue(), 1_000_000)


def test_an_svg_is_refused_as_markup():
    with pytest.raises(images.NotAnImage, match="markup"):
        images.process(b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', 1_000_000)


@pytest.mark.parametrize("make", [lambda: jpeg_with_gps(), lambda: png()])
def test_a_polyglot_with_a_page_after_the_image_is_refused(make):
    with pytest.raises(images.NotAnImage, match="polyglot"):
        images.process(make() + b"<html><script>alert(document.cookie)</script></html>", 1_000_000)


def test_a_decompression_bomb_is_refused_before_it_is_decoded():
    # 10,000 × 10,000 pixels of one colour: a small PNG file that would take 100 MB to decode.
    buffer = io.BytesIO()
    Image.new("L", (10_000, 10_000)).save(buffer, "PNG")
    assert len(buffer.getvalue()) < 200_000
    with pytest.raises(TooLarge, match="pixels"):
        images.process(buffer.getvalue(), 50_000_000)


def test_pillows_own_limit_refuses_a_bomb_too(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1_000)
    with pytest.raises(TooLarge, match="too many pixels"):
        images.process(png(size=(100, 100), mode="RGB"), 10**9)


def test_a_thumbnail_is_at_most_480_pixels_wide_and_high():
    buffer = io.BytesIO()
    Image.new("RGB", (1600, 900), "white").save(buffer, "JPEG")
    thumb = Image.open(io.BytesIO(images.process(buffer.getvalue(), 10**8).thumbnail))
    assert thumb.size == (480, 270)
