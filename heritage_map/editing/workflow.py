"""The review of a record: its states and moves (draft → submitted → published, or changes requested), the
moderators' queue and the associations' dashboards."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ..accounts import policy
from ..catalogue.models import Project, ProjectAssociation, Site
from ..errors import Conflict, InvalidParameter
from . import records
from .models import Review


@dataclass(frozen=True)
class Move:
    """One move of the review: from which states, to which, the policy action it needs, the step recorded."""

    sources: frozenset[str]
    target: str
    action: str
    step: str


MOVES = {
    "submit": Move(frozenset({"draft", "changes_requested", "withdrawn"}), "submitted", "submit", "submitted"),
    "publish": Move(frozenset({"submitted"}), "published", "review", "published"),
    "request_changes": Move(frozenset({"submitted"}), "changes_requested", "review", "changes_requested"),
    "unpublish": Move(frozenset({"published"}), "withdrawn", "review", "unpublished"),
}
# The states an association's editor may still change a record in; a published one goes back to draft.
EDITABLE = frozenset({"draft", "changes_requested", "withdrawn", "published"})
DASHBOARD_STATES = ("draft", "submitted", "changes_requested", "published", "withdrawn")
# An association's profile is reviewed as a project is: an editor's change to a published one waits for a moderator.
REVIEWED = ("projects", "sites", "associations")


def allowed_moves(user, record) -> list[str]:
    """Return the moves `user` may make on `record` now."""
    owner = records.owner_id(record)
    return [name for name, move in MOVES.items() if record.publication_status in move.sources
            and (policy.can(user, move.action, owner) if move.action == "submit" else policy.can(user, move.action))]


def move(session: Session, user, kind: str, record, name: str, comment: str = "") -> Review:
    """Make move `name` on `record` for `user`, recording the step; raise if it is not allowed now."""
    step = MOVES.get(name)
    if step is None:
        raise InvalidParameter(_("unknown review action %(name)r", name=name))
    owner = records.owner_id(record)
    if step.action == "submit":
        policy.ensure(policy.can(user, "submit", owner), _("Only the association's editors may submit this."))
    else:
        policy.ensure(policy.can(user, "review"), _("Only moderators may do this."))
    if record.publication_status not in step.sources:
        raise Conflict(_("This record is %(state)s: it cannot be %(step)s now.",
                         state=record.publication_status.replace("_", " "), step=step.step.replace("_", " ")))
    comment = (comment or "").strip()
    if name == "request_changes" and not comment:
        raise InvalidParameter(_("Say what should change: a comment is required to request changes."))
    record.publication_status = step.target
    review = Review(table_name=kind, record_id=record.id, user_id=user.id, action=step.step, comment=comment or None)
    session.add(review)
    session.flush()
    return review


def last_comment(session: Session, kind: str, record_id: int) -> Review | None:
    """Return the newest review step carrying a moderator's comment, if any."""
    return session.scalar(select(Review).where(Review.table_name == kind, Review.record_id == record_id,
                                               Review.comment.is_not(None), Review.action != "submitted")
                          .order_by(Review.id.desc()).limit(1))


def queue(session: Session) -> list[tuple[str, object]]:
    """Return every submitted project and site, oldest submission first: (kind, record)."""
    items = []
    for kind in REVIEWED:
        model = records.MODELS[kind]
        for record in session.scalars(select(model).where(model.publication_status == "submitted")):
            items.append((record.updated_at, kind, record))
    return [(kind, record) for _when, kind, record in sorted(items, key=lambda item: item[0])]


def association_records(session: Session, association_id: int) -> dict[str, dict[str, list]]:
    """Return an association's projects (as lead) and proposed sites, by state: kind → state → records."""
    projects = session.scalars(select(Project).join(ProjectAssociation).where(
        ProjectAssociation.association_id == association_id, ProjectAssociation.role == "lead")
        .order_by(Project.slug).options(selectinload(Project.links)))
    sites = session.scalars(select(Site).where(Site.proposed_by_association_id == association_id)
                            .order_by(Site.slug))
    return {"projects": by_state(projects), "sites": by_state(sites)}


def by_state(rows) -> dict[str, list]:
    """Return `rows` grouped by publication state, every dashboard state present (in order)."""
    grouped = {state: [] for state in DASHBOARD_STATES}
    for record in rows:
        grouped[record.publication_status].append(record)
    return grouped
