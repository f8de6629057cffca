"""Builders of valid records for tests: each adds one record, with overrides, and flushes it."""

from __future__ import annotations

import email
import email.policy
import functools
import re

import pytest
from geoalchemy2.shape import from_shape
from shapely import Point
from sqlalchemy.orm import Session

from heritage_map.catalogue.models import Site


def make_site(session: Session, **overrides) -> Site:
    """Add a valid published heritage site (overridable) and flush it."""
    values = dict(slug="test-site", name_en="Test site", kind="heritage", category="gate",
                  coord_confidence="medium", publication_status="published", sources=["https://example.org/source"],
                  geom=from_shape(Point(-8.877, 30.47), srid=4326))
    values.update(overrides)
    site = Site(**values)
    session.add(site)
    session.flush()
    return site


def make_user(session: Session, role: str = "member", memberships: dict | None = None, **overrides):
    """Add an account with password "correct horse battery staple" and flush it.

    `memberships` maps an association (a record) to its role ("editor" or "lead"), approved.
    """
    from heritage_map.accounts.models import Membership, User

    values = dict(email=f"{role}@example.org", display_name=f"A {role}", role=role, active=True,
                  password_hash=password_hash())
    values.update(overrides)
    user = User(**values)
    session.add(user)
    session.flush()
    for association, membership_role in (memberships or {}).items():
        session.add(Membership(user_id=user.id, association_id=association.id, role=membership_role,
                               state="approved"))
    session.flush()
    return user


PASSWORD = "correct horse battery staple"


@functools.cache
def password_hash() -> str:
    """Return a hash of PASSWORD, made once per run (an Argon2 hash takes tens of milliseconds by design)."""
    from heritage_map.accounts.passwords import hash_password

    return hash_password(PASSWORD)


def sign_in(client, user, password: str = PASSWORD, **request):
    """Sign `user` in through the sign-in form, CSRF token included; return the response (`request`: to the POST)."""
    page = client.get("/sign-in").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    return client.post("/sign-in", data={"csrf_token": token, "email": user.email, "password": password}, **request)


def csrf_token(client, path: str = "/sign-in") -> str:
    """Return a CSRF token valid for `client`'s session, read from a page with a form."""
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*? value="([^"]+)"', page).group(1)


def make_association(session: Session, **overrides):
    """Add a valid published association (overridable) and flush it."""
    from heritage_map.catalogue.models import Association

    values = dict(slug="test-association", name_en="Test association", publication_status="published",
                  sources=["https://example.org/source"], themes=["heritage"],
                  geom=from_shape(Point(-8.875, 30.471), srid=4326))
    values.update(overrides)
    association = Association(**values)
    session.add(association)
    session.flush()
    return association


def make_event(session: Session, association, **overrides):
    """Add a valid published event of `association` at a point in Taroudant, next week, and flush it."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    from heritage_map.events.models import Event

    start = dt.datetime.now(ZoneInfo("Africa/Casablanca")).replace(microsecond=0) + dt.timedelta(days=7)
    values = dict(association_id=association.id, kind="clean_up", title_en="Clean-up of Bab El Kasbah",
                  starts_at=start, ends_at=start + dt.timedelta(hours=3), publication_status="published",
                  geom=from_shape(Point(-8.877, 30.47), srid=4326))
    values.update(overrides)
    event = Event(**values)
    session.add(event)
    session.flush()
    return event


def make_membership(session: Session, user, association, role: str = "editor", state: str = "approved"):
    """Add `user`'s membership of `association` and flush it."""
    from heritage_map.accounts.models import Membership

    membership = Membership(user_id=user.id, association_id=association.id, role=role, state=state)
    session.add(membership)
    session.flush()
    session.expire(user, ["memberships"])
    return membership


def sign_in_as(client, session: Session, role: str = "member", memberships: dict | None = None, **overrides):
    """Make an account (as make_user does), sign `client` in with it, and return the account."""
    user = make_user(session, role=role, memberships=memberships, **overrides)
    response = sign_in(client, user)
    assert response.status_code == 302, response.get_data(as_text=True)
    return user


def post_form(client, path: str, data: dict | None = None, token_from: str = "/sign-in", **kwargs):
    """POST `data` to `path` with a CSRF token valid for `client`'s session; return the response."""
    return client.post(path, data={"csrf_token": csrf_token(client, token_from), **(data or {})}, **kwargs)


class Mailbox:
    """The messages the folder backend wrote, oldest first."""

    def __init__(self, folder):
        self.folder = folder

    def messages(self) -> list[email.message.EmailMessage]:
        return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
                for p in sorted(self.folder.glob("*.eml"))] if self.folder.exists() else []

    def last_link(self, path_prefix: str) -> str:
        """Return the path of the last link to `path_prefix` in the last message."""
        body = self.messages()[-1].get_content()
        return re.findall(rf"https?://[^/\s]+({re.escape(path_prefix)}[^\s]+)", body)[-1]


@pytest.fixture
def mailbox(app, tmp_path) -> Mailbox:
    """Point the app's default (folder) mail backend at a fresh folder; import this fixture to use it."""
    app.config["MAIL_DIR"] = str(tmp_path / "mail")
    app.config["MAIL_BACKEND"] = "folder"
    return Mailbox(tmp_path / "mail")
