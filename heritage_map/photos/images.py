"""Checking an uploaded image by its content and re-encoding it from its pixels alone (no metadata survives)."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import InvalidParameter, TooLarge
from .models import MEDIA_TYPES

THUMB_SIZE = (480, 480)
# What a browser sniffs as markup at a file's start: refused even if an image decoder would read the rest.
MARKUP = (b"<!doctype", b"<html", b"<head", b"<body", b"<script", b"<svg", b"<?xml", b"<?php", b"<iframe")


class NotAnImage(InvalidParameter):
    """An upload is not a JPEG, PNG or WebP image, or carries something beside one."""

    code = "UnsupportedMediaType"
    status = 415


@dataclass(frozen=True)
class Encoded:
    """A photo re-encoded from its pixels: the file, its thumbnail, their type and size."""

    media_type: str
    data: bytes
    thumbnail: bytes
    width: int
    height: int


def read(data: bytes, max_pixels: int) -> Image.Image:
    """Return the image in `data`, decoded, or raise NotAnImage / TooLarge saying why.

    >>> read(b"<html><script>alert(1)</script></html>", 10_000)
    Traceback (most recent call last):
    ...
    heritage_map.photos.images.NotAnImage: the file holds markup (HTML, SVG or XML), not a JPEG, PNG or WebP image
    >>> read(b"GIF89a...", 10_000)
    Traceback (most recent call last):
    ...
    heritage_map.photos.images.NotAnImage: the file is not a JPEG, PNG or WebP image
    """
    head = data[:64].lstrip().lower()
    if head.startswith(MARKUP):
        raise NotAnImage("the file holds markup (HTML, SVG or XML), not a JPEG, PNG or WebP image")
    try:
        with warnings.catch_warnings():
            # Pillow warns past MAX_IMAGE_PIXELS and fails only past twice that: refuse at the warning.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            probe = Image.open(io.BytesIO(data))
            fmt = probe.format
            if fmt not in MEDIA_TYPES:
                raise NotAnImage("the file is not a JPEG, PNG or WebP image")
            _refuse_bombs(probe, max_pixels)
            probe.verify()  # structure and checksums; the object is spent after this
            image = Image.open(io.BytesIO(data))
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise TooLarge(f"the image has too many pixels (at most {max_pixels:,} are accepted)") from None
    except (UnidentifiedImageError, SyntaxError, OSError, ValueError, EOFError):
        raise NotAnImage("the file is not a JPEG, PNG or WebP image") from None
    _refuse_trailing_data(data, fmt)
    return image


def _refuse_bombs(image: Image.Image, max_pixels: int) -> None:
    """Refuse an image whose header promises more pixels than `max_pixels`, before decoding any."""
    width, height = image.size
    if width * height > max_pixels:
        raise TooLarge(f"the image is {width} × {height} pixels; at most {max_pixels:,} pixels are accepted")


def _refuse_trailing_data(data: bytes, fmt: str) -> None:
    """Refuse a polyglot: bytes after the image's own end (an archive, a script, a page appended)."""
    trailing = False
    if fmt == "PNG":
        end = data.rfind(b"IEND")
        trailing = end < 0 or data[end + 8:].strip(b"\0") != b""  # IEND, then its 4-byte CRC
    elif fmt == "JPEG":
        trailing = data.rstrip(b"\0\r\n ")[-2:] != b"\xff\xd9"
    elif fmt == "WEBP":
        declared = int.from_bytes(data[4:8], "little") + 8
        trailing = declared + (declared % 2) < len(data.rstrip(b"\0"))
    if trailing:
        raise NotAnImage("the file carries data after its image (a polyglot file); save the image alone and "
                         "upload that")


def encode(image: Image.Image, fmt: str) -> Encoded:
    """Re-encode `image` in `fmt` from its pixels only, turned upright first, with a thumbnail.

    Nothing of the original file is kept: no EXIF (GPS included), XMP, ICC profile or comment.
    """
    upright = ImageOps.exif_transpose(image)
    has_alpha = upright.mode in ("RGBA", "LA", "PA") or "transparency" in upright.info
    mode = "RGBA" if has_alpha and fmt != "JPEG" else "RGB"
    if upright.mode == "L" and not has_alpha:
        mode = "L"
    converted = upright.convert(mode)
    # A new image from the raw pixels: .info, EXIF and every other chunk stay behind.
    pixels = Image.frombytes(mode, converted.size, converted.tobytes())
    thumb = pixels.copy()
    thumb.thumbnail(THUMB_SIZE)
    return Encoded(MEDIA_TYPES[fmt], _save(pixels, fmt), _save(thumb, fmt), *pixels.size)


def _save(image: Image.Image, fmt: str) -> bytes:
    """Return `image` written as `fmt` with no metadata."""
    out = io.BytesIO()
    options = {"JPEG": {"quality": 85, "optimize": True}, "PNG": {"optimize": True},
               "WEBP": {"quality": 85}}[fmt]
    image.save(out, fmt, **options)
    return out.getvalue()


def process(data: bytes, max_pixels: int) -> Encoded:
    """Check `data` by its content and return it re-encoded, or raise NotAnImage / TooLarge."""
    image = read(data, max_pixels)
    return encode(image, image.format)
