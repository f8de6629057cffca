"""The permission matrix, exhaustively: every kind of person × every action × association X, Y or none."""

from __future__ import annotations

import pytest
from flask_login import AnonymousUserMixin
from sqlalchemy import select

from heritage_map.accounts import policy
from heritage_map.catalogue.models import Association
from heritage_map.errors import Forbidden, SignInRequired
from tests.factories import make_association, make_membership, make_user

ACTIONS = ("read_drafts", "edit", "submit", "approve_members", "review", "restore", "manage")
# One column per action; in each, three answers: for association X, for association Y, for none.
# y: allowed, .: refused. Written out by hand from the issue, not computed from policy.py.
#                                   read_drafts edit  submit approve_members review restore manage
MATRIX = {
    "anonymous":                    "...        ...   ...    ...             ...    ...     ...",
    "member without membership":    "...        ...   ...    ...             ...    ...     ...",
    "requested member of X":        "...        ...   ...    ...             ...    ...     ...",
    "requested lead of X":          "...        ...   ...    ...             ...    ...     ...",
    "editor of X":                  "y..        y..   y..    ...             ...    ...     ...",
    "lead of X":                    "y..        y..   y..    y..             ...    ...     ...",
    "editor of X, lead of Y":       "yy.        yy.   yy.    .y.             ...    ...     ...",
    "inactive lead of X":           "...        ...   ...    ...             ...    ...     ...",
    "moderator":                    "yyy        ...   ...    ...             yyy    ...     ...",
    "admin":                        "yyy        yyy   yyy    yyy             yyy    yyy     yyy",
    "inactive admin":               "...        ...   ...    ...             ...    ...     ...",
}
CASES = [(who, action, where, answers.split()[i][j] == "y")
         for who, answers in MATRIX.items() for i, action in enumerate(ACTIONS)
         for j, where in enumerate(("X", "Y", None))]


def test_the_matrix_covers_every_action_of_the_policy():
    assert set(ACTIONS) == set(policy.ACTIONS)
    assert all(len(a.split()) == len(ACTIONS) and all(len(c) == 3 for c in a.split()) for a in MATRIX.values())


@pytest.fixture
def world(session):
    """Associations X and Y, and one person of each kind in MATRIX, on the real database."""
    x = make_association(session, slug="assoc-x", name_en="X")
    y = make_association(session, slug="assoc-y", name_en="Y", publication_status="draft")

    def person(slug, role="member", active=True, **memberships):
        user = make_user(session, role=role, email=f"{slug}@example.org", active=active)
        for association, (membership_role, state) in memberships.items():
            make_membership(session, user, {"x": x, "y": y}[association], membership_role, state)
        return user

    people = {
        "anonymous": AnonymousUserMixin(),
        "member without membership": person("member"),
        "requested member of X": person("requested", x=("editor", "requested")),
        "requested lead of X": person("requested-lead", x=("lead", "requested")),
        "editor of X": person("editor", x=("editor", "approved")),
        "lead of X": person("lead", x=("lead", "approved")),
        "editor of X, lead of Y": person("both", x=("editor", "approved"), y=("lead", "approved")),
        "inactive lead of X": person("gone-lead", active=False, x=("lead", "approved")),
        "moderator": person("moderator", role="moderator"),
        "admin": person("admin", role="admin"),
        "inactive admin": person("gone-admin", role="admin", active=False),
    }
    return people, {"X": x.id, "Y": y.id, None: None}


@pytest.mark.parametrize("who, action, where, allowed", CASES, ids=[f"{c[0]}-{c[1]}-{c[2]}" for c in CASES])
def test_the_policy_answers_as_the_matrix_says(world, who, action, where, allowed):
    people, ids = world
    assert policy.can(people[who], action, ids[where]) is allowed


def test_none_is_the_public(world):
    assert not any(policy.can(None, action, None) for action in ACTIONS)


def test_an_unknown_action_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown action 'delete'"):
        policy.can(None, "delete")


@pytest.mark.parametrize("who", MATRIX)
@pytest.mark.parametrize("action", policy.ASSOCIATION_ACTIONS)
def test_the_query_filter_keeps_exactly_the_associations_the_policy_allows(session, world, who, action):
    people, _ids = world
    user = people[who]
    clause = policy.permitted_associations(user, action, Association.id)
    kept = set(session.scalars(select(Association.id).where(clause)))
    every = session.scalars(select(Association.id)).all()
    assert kept == {a for a in every if policy.can(user, action, a)}


def test_the_query_filter_refuses_a_site_wide_action():
    with pytest.raises(ValueError, match="not an action within an association"):
        policy.permitted_associations(None, "review", Association.id)


@pytest.mark.parametrize("who, action, where, allowed", [c for c in CASES if c[0] in ("anonymous", "editor of X")])
def test_require_raises_401_for_the_public_and_403_for_the_signed_in(app, world, who, action, where, allowed):
    people, ids = world
    with app.test_request_context():
        if allowed:
            assert policy.require(action, ids[where], user=people[who]) is None
        else:
            expected = SignInRequired if who == "anonymous" else Forbidden
            with pytest.raises(expected) as raised:
                policy.require(action, ids[where], user=people[who])
            assert raised.value.status == (401 if who == "anonymous" else 403)
