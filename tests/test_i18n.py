"""A record's text in one fallback order: the Jinja filter on pages, the same order handed to map.js."""

from __future__ import annotations

import json
import re

from flask import render_template_string

from heritage_map import i18n
from tests.factories import make_site


def test_the_localized_filter_reads_dicts_and_records_in_the_fallback_order(app, session):
    site = make_site(session, slug="only-french", name_en="", name_fr="Bab Seulement", name_ar="باب")
    with app.test_request_context("/"):
        page = render_template_string(
            '{{ p|localized("title") }}/{{ s|localized("name") }}/{{ s|localized("description") }}.',
            p={"title_ar": "مشروع", "title_fr": None}, s=site)
    assert page == "مشروع/Bab Seulement/."


def test_a_site_named_only_in_french_is_titled_in_french_on_its_page_and_in_the_index(client, session):
    make_site(session, slug="only-french", name_en=None, name_fr="Bab Seulement", name_ar="باب")
    page = client.get("/sites/only-french").text
    assert "<title>Bab Seulement — Taroudant Heritage Map</title>" in page
    assert '<h1 lang="fr" dir="ltr">Bab Seulement' in page  # read as French, on an English page
    assert '<a href="/sites/only-french" lang="fr" dir="ltr">Bab Seulement</a>' in client.get("/sites").text


def test_every_map_is_handed_the_fallback_order_for_its_popups(client):
    for path in ("/", "/planner", "/sites/ramparts"):
        config = re.search(r'"languages": (\[[^\]]*\])', client.get(path).text)
        assert config and json.loads(config.group(1)) == list(i18n.FALLBACK), path
