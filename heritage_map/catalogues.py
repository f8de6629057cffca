"""The message catalogues: translations/<lang>/LC_MESSAGES/messages.po, compiled to the .mo files gettext reads.

Only the .po files are kept in git (text: they merge). They are compiled when a wheel is built (setup.py),
by scripts/setup.sh for a source checkout, and again as the app starts when a .po is newer than its .mo,
so an edited translation shows at the next start without a step to remember.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po


def stale(directory: Path) -> list[Path]:
    """Return the .po files under `directory` whose .mo is missing or older."""
    found = []
    for po in sorted(directory.glob("*/LC_MESSAGES/*.po")):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            found.append(po)
    return found


def compile_po(po: Path) -> Path:
    """Compile one .po file into the .mo beside it (written whole, then renamed); return the .mo's path."""
    with po.open("rb") as source:
        catalog = read_po(source, locale=po.parent.parent.name)
    mo = po.with_suffix(".mo")
    fd, tmp = tempfile.mkstemp(dir=po.parent, prefix=".messages-", suffix=".mo")
    try:
        with os.fdopen(fd, "wb") as out:
            write_mo(out, catalog)  # fuzzy entries are left out, as gettext would not trust them
        os.chmod(tmp, 0o644)
        os.replace(tmp, mo)  # several processes starting at once: each rename is whole
    except BaseException:
        os.unlink(tmp)
        raise
    return mo


def compile_stale(directory: Path, logger: logging.Logger | None = None) -> list[Path]:
    """Compile every stale catalogue under `directory`; return the .mo files written.

    An installed copy that cannot be written to (a wheel in a root-owned site-packages) keeps the .mo files
    it was built with, and the log says so.
    """
    written = []
    for po in stale(directory):
        try:
            written.append(compile_po(po))
        except OSError as exc:
            (logger or logging.getLogger(__name__)).warning("cannot compile %s (%s): its old translations stay",
                                                            po, exc)
    return written
