"""Who may do what: the one place permissions are decided, for pages, forms and the API alike.

An action is asked about an association (the one owning the record, or the one acted for): `can(user,
"edit", association_id)`. Site-wide actions pass no association. Views call `require(...)`, which raises
the 401 or 403 that errors.py renders; queries listing what a person may see filter with
`permitted_associations(user, action, column)`.

| who                               | read_drafts | edit, submit | approve_members | review | restore, manage |
|-----------------------------------|-------------|--------------|-----------------|--------|-----------------|
| the public, or an inactive account| no          | no           | no              | no     | no              |
| member (no approved membership)   | no          | no           | no              | no     | no              |
| editor of X (approved)            | X           | X            | no              | no     | no              |
| lead of X (approved)              | X           | X            | X               | no     | no              |
| moderator                         | every one   | no           | no              | yes    | no              |
| admin                             | every one   | every one    | every one       | yes    | yes             |
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, true

from ..errors import Forbidden, SignInRequired
from .models import User

# Actions within one association: read its drafts, edit its profile, projects and events, propose sites and
# submit them for review; approve who joins it.
ASSOCIATION_ACTIONS = ("read_drafts", "edit", "submit", "approve_members")
# Site-wide actions: review submissions (publish, request changes, unpublish), restore earlier versions,
# manage people and associations.
SITE_ACTIONS = ("review", "restore", "manage")
ACTIONS = ASSOCIATION_ACTIONS + SITE_ACTIONS


def _signed_in(user: User | None) -> bool:
    return user is not None and getattr(user, "is_authenticated", False) and user.is_active


def association_ids(user: User | None, action: str) -> frozenset[int]:
    """Return the associations `user`'s own approved memberships let them do `action` for."""
    if action not in ASSOCIATION_ACTIONS or not _signed_in(user):
        return frozenset()
    wanted = ("lead",) if action == "approve_members" else ("editor", "lead")
    return frozenset(m.association_id for m in user.memberships if m.state == "approved" and m.role in wanted)


def can(user: User | None, action: str, association_id: int | None = None) -> bool:
    """Return whether `user` (None or anonymous: the public) may do `action`, for `association_id` if given."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    if not _signed_in(user):
        return False
    if user.role == "admin":
        return True
    if action in SITE_ACTIONS:
        return user.role == "moderator" and action == "review"
    if user.role == "moderator" and action == "read_drafts":
        return True  # a moderator reads what they review
    return association_id is not None and association_id in association_ids(user, action)


def permitted_associations(user: User | None, action: str, column) -> ColumnElement[bool]:
    """Return a clause keeping the rows whose association `column` lets `user` do `action` (for queries)."""
    if action not in ASSOCIATION_ACTIONS:
        raise ValueError(f"not an action within an association: {action!r}")
    if not _signed_in(user):
        return false()
    if user.role == "admin" or (user.role == "moderator" and action == "read_drafts"):
        return true()
    ids = association_ids(user, action)
    return column.in_(sorted(ids)) if ids else false()


def require(action: str, association_id: int | None = None, *, user: User | None = None) -> None:
    """Raise SignInRequired (401) or Forbidden (403) unless the person (default: the signed-in one) may do it."""
    from flask_babel import gettext as _  # the messages are for people; only views call this

    if user is None:
        from flask_login import current_user

        user = current_user
    if can(user, action, association_id):
        return
    if not _signed_in(user):
        raise SignInRequired(_("Sign in to do this."))
    raise Forbidden(_("Your account is not allowed to do this."))


def can_edit_record(user: User | None, association_id: int | None) -> bool:
    """Return whether `user` may edit a record owned by `association_id` (None: no owner, such as the seed's).

    A record no association owns is edited by those who review: moderators and admins.
    """
    return can(user, "edit", association_id) if association_id is not None else can(user, "review")


def can_read_record(user: User | None, association_id: int | None) -> bool:
    """Return whether `user` may read an unpublished record owned by `association_id`."""
    return can(user, "read_drafts", association_id) if association_id is not None else can(user, "review")


def ensure(allowed: bool, message: str) -> None:
    """Raise Forbidden with `message` unless `allowed` (for decisions made with can_edit_record and friends)."""
    if not allowed:
        raise Forbidden(message)
