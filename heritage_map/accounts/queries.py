"""All SQL of accounts and memberships; functions take a session and plain values, and never commit."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from ..catalogue.models import Association
from ..catalogue.queries import published
from ..errors import InvalidParameter, NotFound
from .models import MEMBERSHIP_ROLES, ROLES, Membership, User


def normalize_email(email: str) -> str:
    """Return `email` as stored: trimmed, lowercased (one account per address, however it is typed).

    >>> normalize_email("  Amina@Example.ORG ")
    'amina@example.org'
    """
    return email.strip().lower()


def user_by_email(session: Session, email: str) -> User | None:
    """Return the account of `email` (any case), or None."""
    return session.scalar(select(User).where(User.email == normalize_email(email)))


def create_user(session: Session, email: str, display_name: str, password_hash: str | None = None,
                role: str = "member", active: bool = True) -> User:
    """Add an account; raise InvalidParameter when the address has one already or the role is unknown."""
    if role not in ROLES:
        raise InvalidParameter(f"unknown role {role!r}; known: {', '.join(ROLES)}")
    email = normalize_email(email)
    if user_by_email(session, email) is not None:
        raise InvalidParameter(f"an account with the e-mail address {email} exists already")
    user = User(email=email, display_name=display_name.strip() or email.partition("@")[0], role=role,
                active=active, password_hash=password_hash)
    session.add(user)
    session.flush()
    return user


def people(session: Session) -> list[User]:
    """Return every account with its memberships, ordered by e-mail address (for admins only)."""
    return list(session.scalars(select(User).options(selectinload(User.memberships).selectinload(
        Membership.association)).order_by(User.email)))


def association_by_slug(session: Session, slug: str) -> Association:
    """Return the association `slug`, whatever its publication state, or raise NotFound."""
    association = session.scalar(select(Association).where(Association.slug == slug))
    if association is None:
        raise NotFound(f"no association called {slug!r}")
    return association


def joinable_associations(session: Session) -> list[Association]:
    """Return the published associations, by slug: the ones a person can ask to join."""
    return list(session.scalars(select(Association).where(published(Association)).order_by(Association.slug)))


def all_associations(session: Session) -> list[Association]:
    """Return every association, whatever its state, by slug, with its count of approved members."""
    return list(session.scalars(select(Association).order_by(Association.slug)))


def member_counts(session: Session) -> dict[int, dict[str, int]]:
    """Return, per association id, its memberships counted by state."""
    rows = session.execute(select(Membership.association_id, Membership.state, func.count())
                           .group_by(Membership.association_id, Membership.state))
    counts: dict[int, dict[str, int]] = {}
    for association_id, state, n in rows:
        counts.setdefault(association_id, {})[state] = n
    return counts


def memberships_of(session: Session, association_id: int) -> list[Membership]:
    """Return the memberships of an association: requests first, then members, each by name."""
    return list(session.scalars(
        select(Membership).join(User).where(Membership.association_id == association_id)
        .options(selectinload(Membership.user))
        .order_by(Membership.state.desc(), func.lower(User.display_name), User.email)))


def membership(session: Session, user_id: int, association_id: int) -> Membership | None:
    """Return one person's membership of one association, or None."""
    return session.get(Membership, (user_id, association_id))


def ask_to_join(session: Session, user: User, association: Association) -> Membership | None:
    """Record `user`'s request to join `association` as an editor; None when they already asked or belong."""
    if membership(session, user.id, association.id) is not None:
        return None
    request = Membership(user_id=user.id, association_id=association.id, role="editor", state="requested")
    session.add(request)
    session.flush()
    return request


def add_member(session: Session, user: User, association: Association, role: str = "editor") -> Membership:
    """Make `user` an approved member of `association` with `role` (a new membership or an updated one)."""
    if role not in MEMBERSHIP_ROLES:
        raise InvalidParameter(f"unknown membership role {role!r}; known: {', '.join(MEMBERSHIP_ROLES)}")
    found = membership(session, user.id, association.id)
    if found is None:
        found = Membership(user_id=user.id, association_id=association.id)
        session.add(found)
    found.role, found.state = role, "approved"
    session.flush()
    return found


def leads_of(session: Session, association_id: int) -> list[User]:
    """Return the active, approved leads of an association, or the active admins when it has none."""
    leads = list(session.scalars(select(User).join(Membership).where(
        Membership.association_id == association_id, Membership.role == "lead", Membership.state == "approved",
        User.active)))
    return leads or list(session.scalars(select(User).where(User.role == "admin", User.active)))
