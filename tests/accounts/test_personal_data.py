"""Personal data (e-mail addresses, names of people) never appears on public pages, the API, OGC or exports."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from heritage_map.catalogue import layers
from heritage_map.catalogue.models import Association, Project, Site
from heritage_map.ogc import collections
from tests.factories import make_membership, make_user

# Words no record holds, so that finding one anywhere means an account leaked.
SECRETS = ("zoubida.private@example.net", "Zoubida Qxlname", "hassan.hidden@example.net", "Hassan Vyzname",
           "zoubida.private", "Qxlname", "Vyzname")


@pytest.fixture
def people(session):
    """Accounts with memberships, requests and roles, in the seed's published associations."""
    associations = session.scalars(select(Association).where(Association.publication_status == "published")).all()
    lead = make_user(session, email=SECRETS[0], display_name=SECRETS[1], role="admin")
    asker = make_user(session, email=SECRETS[2], display_name=SECRETS[3])
    for association in associations:
        make_membership(session, lead, association, role="lead")
        make_membership(session, asker, association, state="requested")


def public_paths(app, session) -> list[str]:
    """Every page and data route a person needs no account for, filled with every published record."""
    paths = [r.rule for r in app.url_map.iter_rules() if "GET" in r.methods and not r.arguments]
    for model, page in ((Site, "/sites/"), (Association, "/associations/"), (Project, "/projects/")):
        paths += [page + slug for slug in session.scalars(select(model.slug).where(model.publication_status == "published"))]
    for cid in collections.COLLECTIONS:
        base = f"/ogc/collections/{cid}"
        paths += [base, f"{base}/queryables", f"{base}/items?limit=10000", f"{base}/items?limit=10000&f=html",
                  f"{base}/tiles", f"{base}/tiles/WebMercatorQuad", f"{base}/tiles/WebMercatorQuad/0/0/0",
                  f"{base}/tiles/WebMercatorQuad/14/6850/7787"]
    for name in [*layers.LAYERS, *layers.VIEWS]:
        paths += [f"/api/export/{name}?format={fmt}" for fmt in ("geojson", "csv", "kml", "gpkg")]
    paths += ["/api/near?lon=-8.877&lat=30.47&radius=50000", "/sign-up", "/password-reset"]
    return paths


def test_no_public_route_shows_an_accounts_e_mail_address_or_name(app, client, session, people):
    checked = 0
    for path in public_paths(app, session):
        response = client.get(path)
        assert response.status_code < 500, (path, response.status_code)  # a 400 (no parameters) is read too
        body = response.get_data()
        leaked = [s for s in SECRETS if s.lower().encode() in body.lower() or s.encode("utf-16-le") in body]
        assert leaked == [], path
        checked += response.status_code == 200
    assert checked > 100  # the walk really reached the records


def test_the_walk_would_see_a_name_if_one_leaked(client, session, people):
    """The check itself can fail: a name put into a public record is found."""
    site = session.scalar(select(Site).where(Site.slug == "bab-el-khemis"))
    site.description_en = f"Looked after by {SECRETS[1]}"
    session.flush()
    assert SECRETS[1].encode() in client.get("/sites/bab-el-khemis").get_data()
