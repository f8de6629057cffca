"""Joining an association, its members page, the admins' people page; no one acts beyond their association."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from heritage_map.accounts.models import Membership, User
from tests.factories import (mailbox, make_association, make_membership, make_user, post_form,  # noqa: F401
                             sign_in, sign_in_as)


@pytest.fixture
def xy(session):
    """Published associations X and Y, each with one person asking to join and one approved editor."""
    x = make_association(session, slug="assoc-x", name_en="Association X")
    y = make_association(session, slug="assoc-y", name_en="Association Y")
    people = {}
    for a in (x, y):
        asker = make_user(session, email=f"asker-{a.slug}@example.org", display_name=f"Asker of {a.slug}")
        make_membership(session, asker, a, state="requested")
        editor = make_user(session, email=f"editor-{a.slug}@example.org", memberships={a: "editor"})
        people[a.slug] = {"asker": asker, "editor": editor}
    return x, y, people


def state(session, user, association):
    session.expire_all()
    m = session.get(Membership, (user.id, association.id))
    return None if m is None else (m.role, m.state)


def test_a_signed_in_person_asks_to_join_from_the_association_page_and_its_lead_is_mailed(client, session, xy,
                                                                                          mailbox):
    x, _y, _people = xy
    make_user(session, email="lead-x@example.org", memberships={x: "lead"})
    person = sign_in_as(client, session, email="newcomer@example.org", display_name="Newcomer")
    page = client.get("/associations/assoc-x").get_data(as_text=True)
    assert 'action="/associations/assoc-x/join"' in page and "Ask to join this association" in page
    response = post_form(client, "/associations/assoc-x/join", token_from="/associations/assoc-x")
    assert response.status_code == 302
    assert state(session, person, x) == ("editor", "requested")
    [message] = mailbox.messages()
    assert message["To"] == "lead-x@example.org" and "Newcomer asks to join Association X" in message["Subject"]
    assert "/associations/assoc-x/members" in message.get_content()
    page = client.get("/associations/assoc-x").get_data(as_text=True)
    assert "You have asked to join this association" in page


def test_asking_twice_changes_nothing(client, session, xy):
    x, _y, people = xy
    editor = people["assoc-x"]["editor"]
    sign_in(client, editor)
    post_form(client, "/associations/assoc-x/join")
    assert state(session, editor, x) == ("editor", "approved")


def test_the_public_is_asked_to_sign_in_before_joining(client, session, xy):
    page = client.get("/associations/assoc-x").get_data(as_text=True)
    assert "Sign in to ask to join this association" in page and "/join" not in page


def test_an_unpublished_association_cannot_be_joined(client, session):
    make_association(session, slug="hidden-assoc", publication_status="draft")
    person = sign_in_as(client, session)
    assert post_form(client, "/associations/hidden-assoc/join").status_code == 404
    assert session.scalars(select(Membership).where(Membership.user_id == person.id)).all() == []


def test_my_associations_lists_memberships_and_the_associations_to_join(client, session, xy):
    _x, _y, people = xy
    sign_in(client, people["assoc-x"]["editor"])
    page = client.get("/my-associations").get_data(as_text=True)
    assert "Association X" in page and 'action="/associations/assoc-y/join"' in page
    assert 'action="/associations/assoc-x/join"' not in page


def test_my_associations_needs_a_signed_in_person(client):
    response = client.get("/my-associations")
    assert response.status_code == 302 and response.headers["Location"].startswith("/sign-in")


def test_a_lead_sees_the_requests_and_members_of_their_association(client, session, xy):
    x, _y, _people = xy
    sign_in_as(client, session, email="lead-x@example.org", memberships={x: "lead"})
    page = client.get("/associations/assoc-x/members").get_data(as_text=True)
    assert "Asker of assoc-x" in page and "asker-assoc-x@example.org" in page and "editor-assoc-x@example.org" in page
    assert "assoc-y@example.org" not in page


@pytest.mark.parametrize("decision, before, after", [
    ("approve", "asker", ("editor", "approved")),
    ("refuse", "asker", None),
    ("make_lead", "editor", ("lead", "approved")),
    ("remove", "editor", None),
])
def test_a_lead_decides_on_their_association(client, session, xy, decision, before, after):
    x, _y, people = xy
    sign_in_as(client, session, email="lead-x@example.org", memberships={x: "lead"})
    target = people["assoc-x"][before]
    response = post_form(client, f"/associations/assoc-x/members/{target.id}", {"decision": decision})
    assert response.status_code == 302
    assert state(session, target, x) == after


def test_a_decision_that_does_not_fit_the_membership_is_refused(client, session, xy):
    x, _y, people = xy
    sign_in_as(client, session, email="lead-x@example.org", memberships={x: "lead"})
    editor = people["assoc-x"]["editor"]
    response = post_form(client, f"/associations/assoc-x/members/{editor.id}", {"decision": "approve"},
                         headers={"Accept": "application/json"})
    assert response.status_code == 400 and "the membership is approved" in response.get_json()["description"]
    bad = post_form(client, f"/associations/assoc-x/members/{editor.id}", {"decision": "promote"})
    assert bad.status_code == 400 and "Unknown decision." in bad.get_data(as_text=True)


KINDS = {"editor of X": {"x": "editor"}, "lead of X": {"x": "lead"}, "moderator": {}, "member": {},
         "requested lead of Y": {}}


@pytest.mark.parametrize("who", KINDS)
@pytest.mark.parametrize("decision, target", [("approve", "asker"), ("refuse", "asker"), ("remove", "editor"),
                                              ("make_lead", "editor")])
def test_no_one_but_ys_lead_or_an_admin_decides_on_y_whatever_ids_they_post(client, session, xy, who, decision,
                                                                             target):
    x, y, people = xy
    memberships = {x: role for key, role in KINDS[who].items()}
    user = sign_in_as(client, session, role="moderator" if who == "moderator" else "member",
                      email="actor@example.org", memberships=memberships)
    if who == "requested lead of Y":
        make_membership(session, user, y, role="lead", state="requested")
    victim = people["assoc-y"][target]
    before = state(session, victim, y)
    # Y's own page, with Y's member's id: refused by the policy.
    assert post_form(client, f"/associations/assoc-y/members/{victim.id}", {"decision": decision}).status_code == 403
    # X's page (where a lead of X may act) with Y's member's id: found nowhere in X.
    expected = 404 if who == "lead of X" else 403
    assert post_form(client, f"/associations/assoc-x/members/{victim.id}", {"decision": decision}).status_code == expected
    assert client.get("/associations/assoc-y/members").status_code == 403
    assert state(session, victim, y) == before


def test_an_admin_decides_on_any_association(client, session, xy):
    _x, y, people = xy
    sign_in_as(client, session, role="admin")
    asker = people["assoc-y"]["asker"]
    assert post_form(client, f"/associations/assoc-y/members/{asker.id}", {"decision": "approve"}).status_code == 302
    assert state(session, asker, y) == ("editor", "approved")


def test_the_members_page_of_a_draft_association_is_not_found_for_whoever_may_not_manage_it(client, session):
    make_association(session, slug="hidden-assoc", publication_status="draft")
    assert client.get("/associations/hidden-assoc/members").status_code == 404
    sign_in_as(client, session)
    assert client.get("/associations/hidden-assoc/members").status_code == 404


def test_the_public_is_sent_to_sign_in_from_a_members_page(client, session, xy):
    response = client.get("/associations/assoc-x/members")
    assert response.status_code == 302 and response.headers["Location"] == "/sign-in?next=/associations/assoc-x/members"


def test_the_people_page_lists_every_account_for_an_admin(client, session, xy):
    sign_in_as(client, session, role="admin")
    page = client.get("/admin/people").get_data(as_text=True)
    assert "asker-assoc-x@example.org" in page and "editor-assoc-y@example.org" in page
    associations = client.get("/admin/associations").get_data(as_text=True)
    assert 'href="/associations/assoc-x/members"' in associations


@pytest.mark.parametrize("role, memberships", [("moderator", False), ("member", True)])
def test_the_admin_pages_are_refused_to_everyone_else(client, session, xy, role, memberships):
    x, _y, people = xy
    sign_in_as(client, session, role=role, memberships={x: "lead"} if memberships else None)
    target = people["assoc-x"]["editor"]
    assert client.get("/admin/people").status_code == 403
    assert client.get("/admin/associations").status_code == 403
    response = post_form(client, f"/admin/people/{target.id}", {"role": "admin", "active": "y"})
    assert response.status_code == 403
    session.expire_all()
    assert session.get(User, target.id).role == "member"


def test_an_admin_changes_a_role_and_deactivates_an_account_which_can_then_not_sign_in(client, session, xy):
    _x, _y, people = xy
    sign_in_as(client, session, role="admin")
    target = people["assoc-x"]["editor"]
    assert post_form(client, f"/admin/people/{target.id}", {"role": "moderator", "active": "y"}).status_code == 302
    session.expire_all()
    assert (target.role, target.active) == ("moderator", True)
    assert post_form(client, f"/admin/people/{target.id}", {"role": "moderator"}).status_code == 302
    session.expire_all()
    assert target.active is False
    assert sign_in(client.application.test_client(), target).status_code == 403


def test_a_deactivated_account_is_signed_out_at_its_next_request(client, session):
    user = sign_in_as(client, session)
    user.active = False
    session.flush()
    assert client.get("/my-associations").status_code == 302


def test_an_admin_cannot_demote_or_deactivate_themselves(client, session):
    admin = sign_in_as(client, session, role="admin")
    response = post_form(client, f"/admin/people/{admin.id}", {"role": "member", "active": "y"})
    assert response.status_code == 400 and "You cannot change your own role" in response.get_data(as_text=True)
    assert post_form(client, f"/admin/people/{admin.id}", {"role": "admin"}).status_code == 400
    session.expire_all()
    assert (admin.role, admin.active) == ("admin", True)


def test_an_unknown_role_is_refused(client, session, xy):
    _x, _y, people = xy
    sign_in_as(client, session, role="admin")
    target = people["assoc-x"]["editor"]
    assert post_form(client, f"/admin/people/{target.id}", {"role": "superuser", "active": "y"}).status_code == 400
