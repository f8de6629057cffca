"""Where photo files live: generated names in one folder under the uploads folder, written whole or not at all."""

from __future__ import annotations

import os
import re
import secrets
import tempfile
from pathlib import Path

from .images import Encoded
from .models import EXTENSIONS

# The only names ever stored or served: no dot-dot, slash or uploaded name can get in.
NAME = re.compile(r"^[0-9a-f]{32}(-thumb)?\.(jpg|png|webp)$")


def folder(uploads_dir: str | Path) -> Path:
    """Return the photos folder inside the uploads folder, created if missing."""
    path = Path(uploads_dir) / "photos"
    path.mkdir(parents=True, exist_ok=True)
    return path


def path_of(uploads_dir: str | Path, name: str) -> Path:
    """Return the file called `name` in the photos folder; raise ValueError for any other kind of name.

    >>> path_of("/srv/uploads", "0123456789abcdef0123456789abcdef.jpg").name
    '0123456789abcdef0123456789abcdef.jpg'
    >>> path_of("/srv/uploads", "../secret_key")
    Traceback (most recent call last):
    ...
    ValueError: not a photo file name: '../secret_key'
    """
    if not NAME.match(name):
        raise ValueError(f"not a photo file name: {name!r}")
    return Path(uploads_dir) / "photos" / name


def save(uploads_dir: str | Path, encoded: Encoded) -> tuple[str, str]:
    """Write a photo and its thumbnail under new random names; return (file name, thumbnail name)."""
    token = secrets.token_hex(16)
    ext = EXTENSIONS[encoded.media_type]
    names = (f"{token}.{ext}", f"{token}-thumb.{ext}")
    target = folder(uploads_dir)
    written = []
    try:
        for name, data in zip(names, (encoded.data, encoded.thumbnail)):
            _write_whole(target, name, data)
            written.append(name)
    except BaseException:
        remove(uploads_dir, *written)
        raise
    return names


def _write_whole(target: Path, name: str, data: bytes) -> None:
    """Write `data` to target/name through a temporary file renamed into place: no one reads half a photo."""
    fd, tmp = tempfile.mkstemp(dir=target, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target / name)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def remove(uploads_dir: str | Path, *names: str) -> None:
    """Delete the named photo files, those that exist."""
    for name in names:
        path_of(uploads_dir, name).unlink(missing_ok=True)
