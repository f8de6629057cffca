"""Settings: defaults, then environment variables, then a test mapping; the only place settings are read."""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import tempfile
from pathlib import Path

from .errors import SetupError

PACKAGE = Path(__file__).resolve().parent
# templates/, static/ and geodata/ sit beside the package in the source tree (an editable install
# too) and inside it in a wheel (pyproject.toml puts them there); the app reads them only through these.
_SHARED = PACKAGE if (PACKAGE / "templates").is_dir() else PACKAGE.parent
TEMPLATES_DIR = _SHARED / "templates"
STATIC_DIR = _SHARED / "static"
GEODATA_DIR = _SHARED / "geodata"

# Each setting, its environment variable and what it does; the README lists the same (a test checks).
SETTINGS = {
    "DATABASE_URL": "PostgreSQL + PostGIS server to use; unset means the embedded cluster",
    "HERITAGE_MAP_DATA_DIR": "folder of the embedded cluster (default: instance/pgdata)",
    "HERITAGE_MAP_PG_BINDIR": "PostgreSQL bin folder for the embedded cluster (default: the newest installed)",
    "HERITAGE_MAP_AUTO_SETUP": "1 (default) applies migrations and loads the seed into an empty database at start",
    "HERITAGE_MAP_TILE_URL": "basemap tile URL template (default: OpenStreetMap); 'none' for no basemap",
    "HERITAGE_MAP_TILE_ATTRIBUTION": "basemap attribution HTML",
    "SECRET_KEY": "Flask secret key; required with DATABASE_URL, else kept in instance/secret_key",
    "HERITAGE_MAP_MAP_TILES_ABOVE": "a map layer of more records than this is drawn from vector tiles instead of "
                                    "GeoJSON (default 2000)",
    "HERITAGE_MAP_TILE_CACHE_MB": "megabytes of vector tiles each process keeps (default 64; 0: none)",
    "HERITAGE_MAP_EDIT_MAX_VERTICES": "most vertices a drawn or uploaded record geometry may have (default: 5000)",
    "HERITAGE_MAP_UPLOADS_DIR": "folder of uploaded files, saved with the database by db backup (default: "
                                "instance/uploads)",
    "HERITAGE_MAP_PHOTO_MAX_BYTES": "largest photo accepted, in bytes (default: 10000000); more answers 413",
    "HERITAGE_MAP_PHOTO_MAX_PIXELS": "most pixels a photo may have (default: 50000000); Pillow's decompression-bomb "
                                     "limit",
    "HERITAGE_MAP_SECURE_COOKIES": "1 sends the session cookie over HTTPS only (default: 1 with DATABASE_URL, else 0)",
    "HERITAGE_MAP_BASE_URL": "the site's address, for links in mails and printed by the CLI (default: the "
                             "request's, or http://127.0.0.1:5000 on the command line)",
    "HERITAGE_MAP_MAIL_BACKEND": "'folder' (default: each message written to HERITAGE_MAP_MAIL_DIR and the log) "
                                 "or 'smtp'",
    "HERITAGE_MAP_MAIL_DIR": "folder the 'folder' mail backend writes messages to (default: instance/mail)",
    "HERITAGE_MAP_SMTP_HOST": "SMTP server of the 'smtp' mail backend",
    "HERITAGE_MAP_SMTP_PORT": "its port (default: 587, or 465 with TLS 'ssl')",
    "HERITAGE_MAP_SMTP_USER": "user name to log in with (default: no login)",
    "HERITAGE_MAP_SMTP_PASSWORD": "password to log in with",
    "HERITAGE_MAP_SMTP_FROM": "sender address of mails (default: noreply@localhost)",
    "HERITAGE_MAP_SMTP_TLS": "'starttls' (default), 'ssl' or 'none'",
    "HERITAGE_MAP_PASSWORD_MIN_LENGTH": "shortest password accepted (default: 10 characters)",
    "HERITAGE_MAP_TOKEN_MINUTES": "how long a password-reset or sign-up confirmation link works (default: 60)",
    "HERITAGE_MAP_INVITE_DAYS": "how long an invitation link works (default: 7)",
    "HERITAGE_MAP_SIGN_IN_ACCOUNT_LIMIT": "failed sign-ins for one address within the window that lock it "
                                          "(default: 5)",
    "HERITAGE_MAP_SIGN_IN_ADDRESS_LIMIT": "failed sign-ins from one IP address within the window that lock it "
                                          "(default: 20)",
    "HERITAGE_MAP_SIGN_IN_WINDOW_MINUTES": "the window failures are counted in (default: 15)",
    "HERITAGE_MAP_SIGN_IN_LOCK_MINUTES": "how long a lock lasts after the last counted failure (default: 15)",
    "HERITAGE_MAP_STATEMENT_TIMEOUT": "seconds a query served to a request may run (default 10; 0: no limit)",
    "HERITAGE_MAP_EXPORT_STATEMENT_TIMEOUT": "the same for /api/export, which reads whole layers (default 60)",
    "HERITAGE_MAP_MAX_BODY": "bytes a request body other than a file upload may hold (default 1048576, 1 MB)",
    "HERITAGE_MAP_RATE_LIMIT_QUESTIONS": "spatial questions per address (default 60/minute; 0: no limit)",
    "HERITAGE_MAP_RATE_LIMIT_EXPORTS": "exports per address (default 20/minute)",
    "HERITAGE_MAP_RATE_LIMIT_UPLOADS": "file uploads per address (default 20/minute)",
    "HERITAGE_MAP_RATE_LIMIT_SIGN_IN": "sign-in attempts per address (default 10/minute)",
}

MAIL_BACKENDS = ("folder", "smtp")
SMTP_TLS = ("starttls", "ssl", "none")

OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION = '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'


def from_env(instance_path: str | Path, environ: dict[str, str] | None = None) -> dict:
    """Return the app settings read from `environ` (default: the process environment)."""
    env = os.environ if environ is None else environ
    return {
        "DATABASE_URL": env.get("DATABASE_URL") or None,
        "DATA_DIR": env.get("HERITAGE_MAP_DATA_DIR") or str(default_data_dir(instance_path)),
        "AUTO_SETUP": env.get("HERITAGE_MAP_AUTO_SETUP", "1").lower() not in ("0", "false", "no", "off"),
        "TILE_URL": env.get("HERITAGE_MAP_TILE_URL") or OSM_TILES,
        "TILE_ATTRIBUTION": env.get("HERITAGE_MAP_TILE_ATTRIBUTION") or OSM_ATTRIBUTION,
        "SECRET_KEY": env.get("SECRET_KEY") or None,
        # Off for the commands that never serve a page (import, export, db upgrade…): they sign nothing.
        "SECRET_KEY_REQUIRED": True,
        "GEODATA_DIR": str(GEODATA_DIR),
        "UPLOADS_DIR": env.get("HERITAGE_MAP_UPLOADS_DIR") or str(Path(instance_path) / "uploads"),
        "MAP_TILES_ABOVE": _whole_number(env, "HERITAGE_MAP_MAP_TILES_ABOVE", 2000),
        "TILE_CACHE_MB": _whole_number(env, "HERITAGE_MAP_TILE_CACHE_MB", 64),
        "EDIT_MAX_VERTICES": int(env.get("HERITAGE_MAP_EDIT_MAX_VERTICES") or 5000),
        "MAX_CONTENT_LENGTH": 20 * 1024 * 1024,  # uploads over 20 MB get 413
        # A phone's photo is 2-8 MB and 12-50 megapixels; more is refused before any pixel is decoded.
        "PHOTO_MAX_BYTES": int(env.get("HERITAGE_MAP_PHOTO_MAX_BYTES") or 10_000_000),
        "PHOTO_MAX_PIXELS": int(env.get("HERITAGE_MAP_PHOTO_MAX_PIXELS") or 50_000_000),
        # A server (DATABASE_URL) is taken to be behind HTTPS; a laptop serves plain HTTP on 127.0.0.1.
        "SECURE_COOKIES": _flag(env, "HERITAGE_MAP_SECURE_COOKIES", bool(env.get("DATABASE_URL"))),
        "BASE_URL": (env.get("HERITAGE_MAP_BASE_URL") or "").rstrip("/") or None,
        "MAIL_BACKEND": _choice(env, "HERITAGE_MAP_MAIL_BACKEND", MAIL_BACKENDS),
        "MAIL_DIR": env.get("HERITAGE_MAP_MAIL_DIR") or str(Path(instance_path) / "mail"),
        "SMTP_HOST": env.get("HERITAGE_MAP_SMTP_HOST") or None,
        "SMTP_PORT": _number(env, "HERITAGE_MAP_SMTP_PORT", 0),  # 0: the TLS mode's usual port
        "SMTP_USER": env.get("HERITAGE_MAP_SMTP_USER") or None,
        "SMTP_PASSWORD": env.get("HERITAGE_MAP_SMTP_PASSWORD") or None,
        "SMTP_FROM": env.get("HERITAGE_MAP_SMTP_FROM") or "noreply@localhost",
        "SMTP_TLS": _choice(env, "HERITAGE_MAP_SMTP_TLS", SMTP_TLS),
        "PASSWORD_MIN_LENGTH": _number(env, "HERITAGE_MAP_PASSWORD_MIN_LENGTH", 10),
        "TOKEN_MINUTES": _number(env, "HERITAGE_MAP_TOKEN_MINUTES", 60),
        "INVITE_DAYS": _number(env, "HERITAGE_MAP_INVITE_DAYS", 7),
        "SIGN_IN_ACCOUNT_LIMIT": _number(env, "HERITAGE_MAP_SIGN_IN_ACCOUNT_LIMIT", 5),
        "SIGN_IN_ADDRESS_LIMIT": _number(env, "HERITAGE_MAP_SIGN_IN_ADDRESS_LIMIT", 20),
        "SIGN_IN_WINDOW_MINUTES": _number(env, "HERITAGE_MAP_SIGN_IN_WINDOW_MINUTES", 15),
        "SIGN_IN_LOCK_MINUTES": _number(env, "HERITAGE_MAP_SIGN_IN_LOCK_MINUTES", 15),
        # A question's shape is at most 10,000 vertices, some 400 KB of GeoJSON; a sign-in form a few hundred
        # bytes. 1 MB holds both with room, and keeps a 20 MB JSON body from being parsed into memory.
        "MAX_BODY": _quantity(env, "HERITAGE_MAP_MAX_BODY", 1024 * 1024, int),
        # A town-wide page of 1,000 features takes 10-250 ms; ten seconds is a query gone wrong (or a
        # CQL2 filter written to be slow), and keeps it from holding a worker and a connection longer.
        "STATEMENT_TIMEOUT": _quantity(env, "HERITAGE_MAP_STATEMENT_TIMEOUT", 10.0, float),
        # An export reads and converts a whole layer: 100,000 sites take some seconds.
        "EXPORT_STATEMENT_TIMEOUT": _quantity(env, "HERITAGE_MAP_EXPORT_STATEMENT_TIMEOUT", 60.0, float),
        "RATE_LIMIT_QUESTIONS": env.get("HERITAGE_MAP_RATE_LIMIT_QUESTIONS") or "60/minute",
        "RATE_LIMIT_EXPORTS": env.get("HERITAGE_MAP_RATE_LIMIT_EXPORTS") or "20/minute",
        "RATE_LIMIT_UPLOADS": env.get("HERITAGE_MAP_RATE_LIMIT_UPLOADS") or "20/minute",
        # Ten tries a minute is a person who forgot their password, not a password list.
        "RATE_LIMIT_SIGN_IN": env.get("HERITAGE_MAP_RATE_LIMIT_SIGN_IN") or "10/minute",
    }


def _flag(env, name: str, default: bool) -> bool:
    """Return the yes/no setting `name`, `default` when unset."""
    value = env.get(name)
    if not value:
        return default
    return value.lower() not in ("0", "false", "no", "off")


def _number(env, name: str, default: int) -> int:
    """Return the whole-number setting `name` (at least 0), `default` when unset; raise SetupError otherwise."""
    value = env.get(name)
    if not value:
        return default
    if not value.strip().isdigit():
        raise SetupError(f"{name}={value!r}: expected a whole number of at least 0")
    return int(value)


def _choice(env, name: str, choices: tuple[str, ...]) -> str:
    """Return the setting `name`, one of `choices` (the first when unset); raise SetupError otherwise."""
    value = (env.get(name) or choices[0]).lower()
    if value not in choices:
        raise SetupError(f"{name}={value!r}: expected one of {', '.join(choices)}")
    return value


def _quantity(env, name: str, default, kind):
    """Return the setting `name` as a number of `kind`, or raise SetupError naming it."""
    value = env.get(name)
    if value in (None, ""):
        return default
    try:
        number = kind(value)
    except ValueError:
        number = -1
    if number < 0:
        raise SetupError(f"{name} must be a number, 0 or more (got {value!r})")
    return number


def secret_key(config: dict, instance_path: str | Path) -> str | None:
    """Return the key to sign sessions with, or raise SetupError when a server would have none.

    SECRET_KEY wins. Without it, on the embedded default (a laptop) the key is the one kept in the
    instance folder; with DATABASE_URL (production) there is no default: each gunicorn worker would
    make its own, and a session signed by one would be refused by the others.
    """
    if config.get("SECRET_KEY"):
        return config["SECRET_KEY"]
    if not config.get("SECRET_KEY_REQUIRED", True):
        return None
    if config.get("DATABASE_URL"):
        raise SetupError("SECRET_KEY is not set: with DATABASE_URL the app needs one key shared by all its "
                         "processes; set it in the environment, e.g. SECRET_KEY=$(python -c 'import secrets; "
                         "print(secrets.token_hex(32))')")
    return kept_secret_key(Path(instance_path) / "secret_key")


def kept_secret_key(path: Path) -> str:
    """Return the key kept in `path`, creating it (mode 0600) on first use; processes starting at once agree."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written whole under another name, then linked into place: a reader never sees half a key,
        # and when several processes race, the first link wins and the others read its key.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".secret_key-")  # mode 0600
        try:
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_hex(32) + "\n")
                out.flush()
                os.fsync(out.fileno())
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    key = path.read_text().strip()
    if not key:
        raise SetupError(f"{path} is empty: delete it to have a new secret key made, or set SECRET_KEY")
    return key


def default_data_dir(instance_path: str | Path) -> Path:
    """Return the embedded cluster's default folder.

    As root, the server runs as the `postgres` user, which cannot enter folders such as
    /root; the cluster then lives under /var/lib/heritage-map, one folder per instance.
    """
    wanted = Path(instance_path) / "pgdata"
    if os.geteuid() != 0 or _world_walkable(wanted):
        return wanted
    digest = hashlib.sha1(str(wanted).encode()).hexdigest()[:10]
    return Path("/var/lib/heritage-map") / f"pgdata-{digest}"


def _whole_number(env, name: str, default: int) -> int:
    """Return the whole number in env[name], `default` when unset, or raise SetupError saying what is wrong."""
    value = env.get(name)
    if not value:
        return default
    if not re.fullmatch(r"[0-9]{1,9}", value.strip()):
        raise SetupError(f"{name} must be a whole number (got {value!r})")
    return int(value)


def _world_walkable(path: Path) -> bool:
    """Tell whether every existing parent of `path` can be entered by any user."""
    return all(p.stat().st_mode & 0o001 for p in path.parents if p.exists())


def normalize_url(url: str) -> str:
    """Return `url` with the psycopg 3 driver named, as SQLAlchemy needs."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url
