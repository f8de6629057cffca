"""Builders for the editing tests: associations' editors, a drawn square, form posts with their CSRF token."""

from __future__ import annotations

import json
import re

from sqlalchemy import select

from heritage_map.catalogue.models import Association
from tests.factories import make_user, sign_in

# A small square in the gardens south of the medina (inside Taroudant province).
SQUARE = {"type": "Polygon", "coordinates": [[[-8.8790, 30.4660], [-8.8770, 30.4660], [-8.8770, 30.4675],
                                              [-8.8790, 30.4675], [-8.8790, 30.4660]]]}
BOWTIE = {"type": "Polygon", "coordinates": [[[-8.88, 30.46], [-8.87, 30.47], [-8.88, 30.47], [-8.87, 30.46],
                                              [-8.88, 30.46]]]}


def association(session, slug: str) -> Association:
    return session.scalar(select(Association).where(Association.slug == slug))


def editor_of(session, client, slug: str, email: str = "editor@example.org", role: str = "editor"):
    """Make an editor of association `slug`, sign them in on `client`; return (user, association)."""
    a = association(session, slug)
    user = make_user(session, memberships={a: role}, email=email)
    session.commit()
    assert sign_in(client, user).status_code == 302
    return user, a


def token(client, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def project_form(**overrides) -> dict:
    data = {"title_en": "Rampart garden", "title_fr": "Jardin du rempart", "description_en": "Planting along the wall.",
            "status": "proposed", "themes": ["heritage", "environment"], "sources": "Association minutes, 2026",
            "geometry": json.dumps(SQUARE), "then": "save"}
    data.update(overrides)
    return data


def post_project(client, path: str, **overrides):
    data = project_form(**overrides)
    if "csrf_token" not in data:
        data["csrf_token"] = token(client, path)
    return client.post(path, data=data)
