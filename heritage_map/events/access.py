"""Which associations a person acts for, and the checks on one event, all decided by accounts.policy."""

from __future__ import annotations

from flask import abort
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..accounts.policy import can
from ..catalogue.models import Association


def editable_associations(session: Session, user) -> list[int]:
    """Return the ids of the associations `user` may edit for (their events, their photos)."""
    if not getattr(user, "is_authenticated", False):
        return []
    # The candidates: every association for whoever manages them all, else the person's memberships;
    # policy.can decides which of them count (an approved membership, an active account).
    if can(user, "manage"):
        candidates = list(session.scalars(select(Association.id).order_by(Association.id)))
    else:
        candidates = sorted(m.association_id for m in user.memberships)
    return [aid for aid in candidates if can(user, "edit", aid)]


def readable(user, record, association_id: int | None) -> bool:
    """Return whether `user` may see `record`: published, or a draft of an association whose drafts they read."""
    return record.publication_status == "published" or can(user, "read_drafts", association_id)


def require(user, action: str, association_id: int | None = None) -> None:
    """Answer 403 unless `user` may do `action` (for `association_id`)."""
    if not can(user, action, association_id):
        abort(403, description=_("You may not do this for this association."))
