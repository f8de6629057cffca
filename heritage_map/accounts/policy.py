"""Who may do what: the one place permissions are decided, for pages, forms and the API alike.

An action is asked about an association (the one owning the record, or the one acted for): `can(user,
"edit", association_id)`. Site-wide actions pass no association.
"""

from __future__ import annotations

from ..errors import Forbidden
from .models import User

# Actions within one association: read its drafts, edit its profile, projects and events, propose sites and
# submit them for review; approve who joins it.
ASSOCIATION_ACTIONS = ("read_drafts", "edit", "submit", "approve_members")
# Site-wide actions: review submissions (publish, request changes, unpublish), restore earlier versions,
# manage people and associations.
SITE_ACTIONS = ("review", "restore", "manage")
ACTIONS = ASSOCIATION_ACTIONS + SITE_ACTIONS


def can(user: User | None, action: str, association_id: int | None = None) -> bool:
    """Return whether `user` (None or anonymous: the public) may do `action`, for `association_id` if given."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.role == "admin":
        return True
    if action in SITE_ACTIONS:
        return user.role == "moderator" and action == "review"
    if user.role == "moderator" and action == "read_drafts":
        return True  # a moderator reads what they review
    if association_id is None:
        return False
    roles = {m.role for m in user.memberships if m.association_id == association_id and m.state == "approved"}
    if action == "approve_members":
        return "lead" in roles
    return bool(roles)


def can_edit_record(user: User | None, association_id: int | None) -> bool:
    """Return whether `user` may edit a record owned by `association_id` (None: no owner, such as the seed's).

    A record no association owns is edited by those who review: moderators and admins.
    """
    return can(user, "edit", association_id) if association_id is not None else can(user, "review")


def can_read_record(user: User | None, association_id: int | None) -> bool:
    """Return whether `user` may read an unpublished record owned by `association_id`."""
    return can(user, "read_drafts", association_id) if association_id is not None else can(user, "review")


def require(allowed: bool, message: str) -> None:
    """Raise Forbidden with `message` unless `allowed`."""
    if not allowed:
        raise Forbidden(message)
