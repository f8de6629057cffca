"""The interface in Arabic, French and English: language URLs, the choice of language, catalogues, formatting."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from flask_babel import format_date

from heritage_map import i18n
from tests.factories import make_site

REPO = Path(__file__).resolve().parent.parent
CATALOGUES = {code: REPO / "heritage_map" / "translations" / code / "LC_MESSAGES" / "messages.po"
              for code in ("ar", "fr")}


def get(client, path: str, status: int = 200, **headers):
    response = client.get(path, headers=headers)
    assert response.status_code == status, (path, response.status_code)
    return response


# ---- language URLs ----

def test_an_arabic_url_gives_a_right_to_left_arabic_page(client):
    response = get(client, "/ar/sites")
    assert '<html lang="ar" dir="rtl">' in response.text
    assert "<h1>المواقع</h1>" in response.text and "<title>المواقع — خريطة تراث تارودانت</title>" in response.text
    assert response.headers["Content-Language"] == "ar"
    # The language is in the URL: the answer does not depend on the asker's headers.
    assert "Accept-Language" not in response.headers.get("Vary", "")


def test_a_french_url_gives_a_french_page_whatever_the_browser_prefers(client):
    html = get(client, "/fr/sites", **{"Accept-Language": "ar"}).text
    assert '<html lang="fr" dir="ltr">' in html
    assert "<h1>Sites</h1>" in html and '<p class="count">33 sites</p>' in html
    assert "Fiabilité de la position" in html and "Carte du patrimoine de Taroudant" in html


def test_links_on_a_language_page_stay_in_its_language_and_static_files_have_one_url(client):
    html = get(client, "/ar/sites").text
    assert 'href="/ar/sites/bab-el-khemis"' in html and 'href="/ar/planner"' in html
    # Static URLs carry their content's hash (/static/v/<hash>/…), the same in every language.
    assert re.search(r'href="/static/(v/[0-9a-f]+/)?site\.css"', html) and "/ar/static/" not in html
    # Every route has its language URLs, with nothing done per route.
    for path in ("/ar/forum", "/fr/projects/clean-walls", "/en/ogc/collections?f=html", "/fr/api/screening/report"):
        assert get(client, path).status_code == 200


def test_the_api_under_a_language_gives_the_same_data_with_record_urls_in_that_language(client):
    plain = get(client, "/api/sites?limit=1").get_json()["features"][0]["properties"]
    arabic = get(client, "/ar/api/sites?limit=1").get_json()["features"][0]["properties"]
    assert plain["url"] == f"/sites/{plain['slug']}" and arabic["url"] == f"/ar/sites/{plain['slug']}"
    assert {k: v for k, v in arabic.items() if k != "url"} == {k: v for k, v in plain.items() if k != "url"}


def test_a_bare_language_prefix_redirects_to_its_home_page(client):
    response = get(client, "/ar?x=1", 308)
    assert response.headers["Location"] == "/ar/?x=1"
    assert '<html lang="ar" dir="rtl">' in get(client, "/ar/").text


def test_an_unknown_language_segment_is_an_ordinary_path(client):
    assert get(client, "/de/sites", 404).status_code == 404
    assert get(client, "/arabic", 404).status_code == 404


def test_every_page_names_itself_in_the_three_languages_and_a_default(client):
    html = get(client, "/fr/sites?kind=heritage").text
    alternates = dict(re.findall(r'<link rel="alternate" hreflang="([\w-]+)" href="([^"]+)">', html))
    assert alternates == {"ar": "http://localhost/ar/sites?kind=heritage",
                          "fr": "http://localhost/fr/sites?kind=heritage",
                          "en": "http://localhost/en/sites?kind=heritage",
                          "x-default": "http://localhost/sites?kind=heritage"}


# ---- the choice of language at a URL without one ----

def test_a_url_without_a_language_follows_accept_language_and_says_it_varies(client):
    response = get(client, "/sites", **{"Accept-Language": "fr-MA,fr;q=0.9,en;q=0.5"})
    assert '<html lang="fr" dir="ltr">' in response.text and response.headers["Content-Language"] == "fr"
    assert {"Accept-Language", "Cookie"} <= set(response.vary)
    assert 'href="/sites/bab-el-khemis"' in response.text  # its links stay without a language, like it
    assert '<html lang="ar" dir="rtl">' in get(client, "/", **{"Accept-Language": "ar-MA"}).text


def test_without_any_preference_the_page_is_in_english(client):
    assert '<html lang="en" dir="ltr">' in get(client, "/sites", **{"Accept-Language": "de-DE"}).text
    assert '<html lang="en" dir="ltr">' in get(client, "/sites").text


def test_the_remembered_language_wins_over_accept_language(client):
    client.set_cookie("lang", "ar")
    assert '<html lang="ar" dir="rtl">' in get(client, "/sites", **{"Accept-Language": "fr"}).text


def test_data_answers_do_not_vary_by_language(client):
    response = get(client, "/api/sites?limit=1", **{"Accept-Language": "ar"})
    assert "Accept-Language" not in response.headers.get("Vary", "")
    assert "Content-Language" not in response.headers


# ---- the switcher ----

def test_the_switcher_links_open_the_same_page_in_each_language(client):
    html = get(client, "/fr/sites?kind=heritage").text
    switcher = html.split('<nav class="language-switcher"', 1)[1].split("</nav>", 1)[0]
    assert 'href="/language/ar?next=/sites%3Fkind%3Dheritage"' in switcher
    assert 'href="/language/en?next=/sites%3Fkind%3Dheritage"' in switcher
    assert '<span class="language-current" lang="fr" dir="ltr" aria-current="true">Français</span>' in switcher


def test_switching_remembers_the_language_and_opens_the_page_in_it(client):
    response = get(client, "/language/ar?next=/sites%3Fkind%3Dheritage", 303)
    assert response.headers["Location"] == "/ar/sites?kind=heritage"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("lang=ar;") and "Max-Age=31536000" in cookie and "SameSite=Lax" in cookie
    assert '<html lang="ar" dir="rtl">' in get(client, "/sites").text  # remembered at a URL without language


def test_switching_from_a_page_named_with_its_language_opens_it_in_the_new_one(client):
    assert get(client, "/language/ar?next=/fr/sites", 303).headers["Location"] == "/ar/sites"


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "\\\\evil.example"])
def test_the_switcher_sends_nobody_to_another_site(client, target):
    assert get(client, f"/language/fr?next={target}", 303).headers["Location"] == "/fr/"


def test_switching_to_an_unknown_language_is_a_404_saying_which_there_are(client):
    assert "there are: ar, fr, en" in get(client, "/language/de", 404).text


# ---- record content ----

def test_a_record_text_missing_in_the_language_is_shown_in_another_with_a_note(client, session):
    make_site(session, slug="only-english", name_en="Test Gate", name_ar="باب التجربة",
              description_en="A gate described in English only.")
    html = get(client, "/ar/sites/only-english").text
    assert "<h1>باب التجربة" in html
    assert '<p class="description" lang="en" dir="ltr">A gate described in English only.</p>' in html
    assert '<p class="fallback-note">لم يُكتب بعد باللغة العربية؛ معروض باللغة الإنجليزية.</p>' in html
    french = get(client, "/fr/sites/only-english").text
    assert '<h1 lang="en" dir="ltr">Test Gate' in french  # no French name: the English one, marked as such
    assert "Pas encore rédigé en français ; affiché en anglais." in french
    assert "fallback-note" not in get(client, "/en/sites/only-english").text


def test_a_record_text_in_the_language_is_shown_without_a_note(client, session):
    make_site(session, slug="bilingual", name_en="Test Gate", name_fr="Porte d’essai",
              description_en="In English.", description_fr="En français.")
    html = get(client, "/fr/sites/bilingual").text
    assert "<h1>Porte d’essai" in html and '<p class="description">En français.</p>' in html
    assert "fallback-note" not in html.split('<dl class="facts">')[0]
    assert '<p lang="en" dir="ltr">In English.</p>' in html  # under "In other languages"


def test_a_tamazight_name_is_shown_beside_the_others_tagged_by_its_script(client, session):
    make_site(session, slug="tifinagh", name_en="Taroudant Gate", name_ar="باب تارودانت", name_zgh="ⵜⴰⵔⵓⴷⴰⵏⵜ")
    html = get(client, "/ar/sites/tifinagh").text
    assert '<span lang="zgh" dir="ltr">ⵜⴰⵔⵓⴷⴰⵏⵜ</span> <small>(الأمازيغية)</small>' in html
    assert '<span class="zgh" lang="zgh" dir="ltr">ⵜⴰⵔⵓⴷⴰⵏⵜ</span>' in get(client, "/ar/sites").text
    # The seed's Tamazight names are in Latin letters so far, and say so.
    assert '<span lang="zgh-Latn" dir="ltr">Assarag</span>' in get(client, "/en/sites/place-assarag").text


def test_vocabulary_values_are_read_in_the_language(client):
    html = get(client, "/ar/sites/bab-el-khemis").text
    assert '<span class="kind kind-heritage">التراث</span> · باب' in html
    assert "معلمة مصنّفة" in html or "غير معروف" in html
    assert '<option value="gate" >باب</option>' in get(client, "/ar/sites").text


# ---- numbers and dates ----

def test_numbers_and_dates_are_written_as_each_language_writes_them(app):
    cases = {"ar": ("12.345,6", "3 ماي 2009"), "fr": ("12\u202f345,6", "3 mai 2009"),
             "en": ("12,345.6", "May 3, 2009")}
    for code, (number, date) in cases.items():
        with app.test_request_context("/", headers={"Cookie": f"lang={code}"}):
            assert i18n.number(12345.64, 1) == number, code
            assert format_date(dt.date(2009, 5, 3), "long") == date, code
            assert i18n.number(None) == "—"


def test_the_report_writes_its_distances_in_the_page_language(client):
    square = {"type": "Polygon", "coordinates": [[[-8.8775, 30.4712], [-8.8765, 30.4712], [-8.8765, 30.4720],
                                                  [-8.8775, 30.4720], [-8.8775, 30.4712]]]}
    html = client.post("/fr/api/screening/report", data={"geometry": json.dumps(square), "distance": "1500"},
                       headers={"Accept": "text/html"}).text
    assert '<html lang="fr" dir="ltr">' in html and "1\u202f500 m autour de l’emprise" in html
    arabic = client.post("/ar/api/screening/report", data={"geometry": json.dumps(square), "distance": "1500"},
                         headers={"Accept": "text/html"}).text
    assert "1.500 م حول حيّز الأشغال" in arabic


# ---- error pages ----

def test_error_pages_are_in_the_language_of_their_url(client):
    html = get(client, "/ar/nowhere", 404).text
    assert '<html lang="ar" dir="rtl">' in html and "<h1>404 — غير موجود</h1>" in html
    assert "العنوان المطلوب غير موجود على هذا الخادم" in html and 'href="/ar/"' in html
    assert "<h1>400 — requête invalide</h1>" in get(client, "/fr/sites?kind=castle", 400).text
    # Data clients keep the English they may match on.
    assert get(client, "/ar/api/sites?kind=castle", 400).get_json()["code"] == "InvalidParameterValue"


# ---- the catalogues ----

def read_catalogue(code: str):
    with CATALOGUES[code].open("rb") as f:
        return read_po(f, locale=code)


@pytest.mark.parametrize("code", ["ar", "fr"])
def test_every_text_has_a_translation_in_each_catalogue(code):
    catalogue = read_catalogue(code)
    untranslated = [m.id for m in catalogue if m.id and (
        m.fuzzy or not m.string or (isinstance(m.string, tuple) and not all(m.string)))]
    assert untranslated == []
    assert len(catalogue) > 250
    for m in catalogue:  # the placeholders of each text survive its translation
        if m.id and not isinstance(m.id, tuple):
            assert set(re.findall(r"%\((\w+)\)s", m.id)) == set(re.findall(r"%\((\w+)\)s", m.string)), m.id


def test_every_text_wrapped_in_the_code_and_templates_is_in_the_catalogues(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run([str(Path(sys.executable).parent / "pybabel"), "-q", "extract", "-F", "babel.cfg",
                    "-k", "_l", "-k", "lazy_gettext", "-k", "N_", "-o", str(pot), "."], cwd=REPO, check=True)
    with pot.open("rb") as f:
        wanted = {m.id for m in read_po(f) if m.id}
    for code in CATALOGUES:
        missing = sorted(map(str, wanted - {m.id for m in read_catalogue(code) if m.id}))
        assert missing == [], f"{code}: run scripts/translations update, then translate these"


def test_a_stale_compiled_catalogue_is_compiled_again_as_the_app_starts(tmp_path):
    from heritage_map import catalogues

    po = tmp_path / "fr" / "LC_MESSAGES" / "messages.po"
    po.parent.mkdir(parents=True)
    po.write_text('msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n\n'
                  'msgid "Map"\nmsgstr "Carte"\n', encoding="utf-8")
    assert catalogues.compile_stale(tmp_path) == [po.with_suffix(".mo")]
    assert catalogues.compile_stale(tmp_path) == []  # up to date: nothing to do
    import gettext
    assert gettext.GNUTranslations(po.with_suffix(".mo").open("rb")).gettext("Map") == "Carte"


# ---- nothing left in English ----

class VisibleText(HTMLParser):
    """Collect the text a person reads, leaving out scripts, styles, code and text marked as another language."""

    SKIP = {"script", "style", "code", "textarea"}
    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self, lang: str):
        super().__init__()
        self.lang, self.stack, self.texts = lang, [], []

    def handle_starttag(self, tag, attrs):
        if tag in self.VOID:
            return
        attrs = dict(attrs)
        other = "lang" in attrs and attrs["lang"] != self.lang and tag != "html"
        self.stack.append(tag in self.SKIP or other or (tag == "a" and (attrs.get("href") or "").startswith("http")))

    def handle_endtag(self, tag):
        if tag not in self.VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data):
        if data.strip() and not any(self.stack):
            self.texts.append(data.strip())


# Names of formats, standards and systems, the same in every language, and the basemap's attribution.
LATIN_ALLOWED = {"GeoJSON", "KML", "GeoPackage", "Shapefile", "CSV", "WGS", "CRS84", "EPSG", "Merchich", "Sud",
                 "Maroc", "OpenAPI", "JSON", "OGC", "API", "Features", "Feature", "FeatureCollection", "UTC",
                 "zip", "CRS", "PNG", "SVG", "GPX", "iCalendar", "Leaflet", "OpenStreetMap", "contributors", "HTTP", "vector", "WebMercatorQuad"}
PAGES = ["/", "/sites", "/sites/bab-el-khemis", "/sites/place-assarag", "/associations",
         "/associations/taroudant-bladna", "/projects", "/projects/clean-walls", "/forum", "/planner",
         "/api/screening/report", "/ogc/?f=html", "/ogc/collections?f=html",
         "/ogc/collections/heritage-sites/items?f=html", "/sign-in", "/nowhere", "/sites?kind=castle",
         "/at-risk", "/trails", "/trails/gates-of-the-ramparts", "/events", "/search?q=bab", "/near"]


@pytest.mark.parametrize("path", PAGES)
def test_an_arabic_page_has_no_latin_words_outside_text_marked_as_another_language(client, path):
    response = client.get("/ar" + path, headers={"Accept": "text/html"})
    parser = VisibleText("ar")
    parser.feed(response.text)
    words = {w for text in parser.texts for w in re.findall(r"[A-Za-z][A-Za-z’']{2,}", text)}
    assert sorted(words - LATIN_ALLOWED) == [], path


@pytest.mark.parametrize("path", PAGES)
def test_a_french_page_shows_none_of_the_english_interface_texts(client, path):
    english = {m.id for m in read_catalogue("fr") if m.id and not isinstance(m.id, tuple)
               and m.string != m.id and "%(" not in m.id and len(m.id) > 3}
    parser = VisibleText("fr")
    parser.feed(client.get("/fr" + path, headers={"Accept": "text/html"}).text)
    assert sorted(set(parser.texts) & english) == [], path
