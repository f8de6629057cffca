"""The interface languages (Arabic, French, English): which one a request is in, and a record's text in it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote

from flask import Blueprint, Flask, Response, g, has_request_context, redirect, request
from flask_babel import Babel, format_decimal, get_locale
from flask_babel import lazy_gettext as _l

from . import catalogues, language_urls
from .config import PACKAGE
from .errors import NotFound
from .urls import is_local_path

# A record without text in the interface language shows its English, then its French, then its Arabic. The
# pages, the map's popups and the planner's tables all read this order (map.js gets it in its config).
FALLBACK = ("en", "fr", "ar")
DEFAULT = "en"
COOKIE = "lang"
TRANSLATIONS_DIR = PACKAGE / "translations"


@dataclass(frozen=True)
class Language:
    """An interface language: its code, its name in itself, its Babel locale and its writing direction."""

    code: str
    native: str
    locale: str  # for numbers and dates: Moroccan conventions (ar_MA: Latin digits, 12.345,6; "ماي")
    dir: str

    @property
    def name(self) -> str:
        """The language's name in the interface language (for "shown in French")."""
        return str(NAMES[self.code])


LANGUAGES: dict[str, Language] = {
    "ar": Language("ar", "العربية", "ar_MA", "rtl"),
    "fr": Language("fr", "Français", "fr_MA", "ltr"),
    "en": Language("en", "English", "en", "ltr"),
}
assert tuple(LANGUAGES) == language_urls.CODES
# Languages' names in the interface language; record text may also be in Tamazight (names), which has no
# interface of its own.
NAMES = {"ar": _l("Arabic"), "fr": _l("French"), "en": _l("English"), "zgh": _l("Tamazight")}
DIRECTIONS = {"ar": "rtl"}

bp = Blueprint("languages", __name__)


def languages(lang: str | None = None) -> tuple[str, ...]:
    """Return the order to look for a record's text in: `lang` first, then the fallback order.

    >>> languages()
    ('en', 'fr', 'ar')
    >>> languages("ar"), languages("zgh")
    (('ar', 'en', 'fr'), ('zgh', 'en', 'fr', 'ar'))
    """
    if lang is None:
        return FALLBACK
    return (lang, *(code for code in FALLBACK if code != lang))


def localized_in(record: object, field: str, lang: str | None = None) -> tuple[str, str | None]:
    """Return a record's `field` in the first language that has it and that language's code, else ("", None).

    `lang` defaults to the request's interface language (outside a request: the fallback order alone).

    >>> localized_in({"description_en": "Gate", "description_ar": ""}, "description", "ar")
    ('Gate', 'en')
    >>> localized_in({"name_fr": "Porte"}, "name", "fr"), localized_in({}, "name", "fr")
    (('Porte', 'fr'), ('', None))
    """
    if lang is None and has_request_context():
        lang = current_language().code
    get = record.get if isinstance(record, Mapping) else lambda key: getattr(record, key, None)
    for code in languages(lang):
        value = get(f"{field}_{code}")
        if value:
            return value, code
    return "", None


def localized(record: object, field: str, lang: str | None = None) -> str:
    """Return a record's `field` ("name", "title", "description") in the first language that has it, else "".

    `record` is an ORM record (attributes name_en, name_fr, …) or a dict (GeoJSON properties); `lang` (by
    default the request's interface language) goes before the fallback order. An empty text counts as missing.

    >>> site = {"name_en": "", "name_fr": "Bab El Kasbah", "name_ar": "باب القصبة"}
    >>> localized(site, "name"), localized(site, "name", "ar")
    ('Bab El Kasbah', 'باب القصبة')
    >>> localized({"name_ar": "باب الخميس"}, "name")
    'باب الخميس'
    >>> localized({"slug": "x"}, "name"), localized({"title_en": None, "title_fr": ""}, "title")
    ('', '')
    >>> from types import SimpleNamespace
    >>> project = SimpleNamespace(title_en=None, title_fr="Restauration", title_ar=None)
    >>> localized(project, "title"), localized(project, "name")
    ('Restauration', '')
    """
    return localized_in(record, field, lang)[0]


def select_locale() -> str:
    """Return the Babel locale of the request: its URL's language, else the cookie's, else Accept-Language's."""
    code = language_urls.path_language()
    if code is None:
        # The answer now depends on the request's headers: caches must keep one copy per language asked.
        g.language_negotiated = True
        code = request.cookies.get(COOKIE)
        if code not in LANGUAGES:
            code = request.accept_languages.best_match(tuple(LANGUAGES)) or DEFAULT
    return LANGUAGES[code].locale


def current_language() -> Language:
    """Return the interface language of the current request."""
    return LANGUAGES[get_locale().language]


def direction(code: str | None) -> str:
    """Return the writing direction of text in language `code`: "rtl" for Arabic, else "ltr"."""
    return DIRECTIONS.get(code or "", "ltr")


def tamazight_tag(text: str) -> str:
    """Return the language tag of a Tamazight text: "zgh" in Tifinagh, "zgh-Latn" in Latin letters.

    >>> tamazight_tag("ⵜⴰⵔⵓⴷⴰⵏⵜ"), tamazight_tag("Asif n Sus")
    ('zgh', 'zgh-Latn')
    """
    return "zgh" if any("\u2d30" <= char <= "\u2d7f" for char in text) else "zgh-Latn"


def number(value, digits: int = 0) -> str:
    """Return a number (a count, metres, m²) written for the interface language, with at most `digits` decimals."""
    if value is None or value == "":
        return "—"
    return format_decimal(value, format="#,##0" + ("." + "#" * digits if digits else ""))


def alternates() -> list[dict]:
    """Return the current page in every language: code, native name, URL, and whether it is the current one."""
    current = current_language().code
    return [{"code": lang.code, "native": lang.native, "dir": lang.dir, "current": lang.code == current,
             "url": language_urls.page_url(lang.code, external=True),
             "neutral": language_urls.page_url(None, external=True),
             "switch": f"{language_urls.neutral_root()}/language/{lang.code}?next="
                       + _quote(language_urls.page_url(None)[len(language_urls.neutral_root()):])}
            for lang in LANGUAGES.values()]


def _quote(path: str) -> str:
    """Percent-encode a path for a query string value."""
    return quote(path, safe="/")


@bp.get("/language/<code>")
def switch(code: str):
    """Remember a chosen language (a cookie, one year) and open the page the person was on in it."""
    if code not in LANGUAGES:
        raise NotFound(f"no interface language {code!r} (there are: {', '.join(LANGUAGES)})")
    target = request.args.get("next") or "/"
    if not is_local_path(target):
        target = "/"
    target = language_urls.split_language(target)[1] or "/"  # /fr/sites asked in Arabic: /ar/sites
    response = redirect(f"{language_urls.neutral_root()}/{code}{target}", 303)
    response.set_cookie(COOKIE, code, max_age=365 * 24 * 3600, samesite="Lax", httponly=True,
                        secure=request.is_secure)
    return response


def mark_language(response: Response) -> Response:
    """Say a page's language (Content-Language) and, at a URL without one, that it varies by the asker's."""
    if response.mimetype == "text/html":
        response.headers.setdefault("Content-Language", current_language().code)
    if g.get("language_negotiated"):
        response.vary.add("Accept-Language")
        response.vary.add("Cookie")
    return response


def init_app(app: Flask) -> None:
    """Set up the languages: catalogues, the language of each request, its URLs, and the templates' helpers."""
    catalogues.compile_stale(TRANSLATIONS_DIR, app.logger)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS_DIR))
    Babel(app, locale_selector=select_locale)
    app.wsgi_app = language_urls.LanguagePrefix(app.wsgi_app)
    app.register_blueprint(bp)
    app.after_request(mark_language)
    app.jinja_env.globals.update(current_language=current_language, language_alternates=alternates,
                                 language_names=NAMES, text_direction=direction, tamazight_tag=tamazight_tag)
    app.jinja_env.filters.update(localized_in=localized_in, number=number)
