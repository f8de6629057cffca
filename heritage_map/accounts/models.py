"""Accounts and memberships; an account's role is site-wide, a membership's role is within one association."""

from __future__ import annotations

import datetime as dt

from flask_login import UserMixin
from sqlalchemy import Boolean, CheckConstraint, DateTime, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..catalogue.models import Association, Base, Timestamped, one_of

# admin: everything, people and associations included; moderator: reviews and publishes; member: whatever
# their memberships allow (nothing without one).
ROLES = ("admin", "moderator", "member")
# editor: edits the association's profile, projects and events, proposes sites; lead: an editor who also
# approves who joins.
MEMBERSHIP_ROLES = ("editor", "lead")
# A person asks to join (requested); an admin or the association's lead approves.
MEMBERSHIP_STATES = ("requested", "approved")


class User(UserMixin, Timestamped, Base):
    """A person who signs in; personal data (e-mail, name) is never shown in public pages, the API or exports."""

    __tablename__ = "users"
    __table_args__ = (
        one_of("role", ROLES),
        # Stored as typed but compared lowercased: one account per address, however it is written.
        CheckConstraint("email = lower(email)", name="email_lowercase"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(Text)
    password_hash: Mapped[str | None] = mapped_column(Text)  # None until an invited person sets one
    role: Mapped[str] = mapped_column(String(20), default="member")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_sign_in_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    memberships: Mapped[list[Membership]] = relationship(back_populates="user", cascade="all, delete-orphan")

    @property
    def is_active(self) -> bool:  # Flask-Login refuses to sign in an inactive account
        return self.active


class Membership(Timestamped, Base):
    """A person belongs to an association, as editor or lead, once approved."""

    __tablename__ = "memberships"
    __table_args__ = (one_of("role", MEMBERSHIP_ROLES), one_of("state", MEMBERSHIP_STATES))

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    association_id: Mapped[int] = mapped_column(ForeignKey("associations.id", ondelete="CASCADE"),
                                                primary_key=True, index=True)
    role: Mapped[str] = mapped_column(String(20), default="editor")
    state: Mapped[str] = mapped_column(String(20), default="requested")

    user: Mapped[User] = relationship(back_populates="memberships")
    association: Mapped[Association] = relationship()
