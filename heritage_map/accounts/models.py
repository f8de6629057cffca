"""Accounts and memberships; an account's role is site-wide, a membership's role is within one association."""

from __future__ import annotations

import datetime as dt

from flask_login import UserMixin
from sqlalchemy import BigInteger, Boolean, CheckConstraint, DateTime, ForeignKey, Index, String, Text, func
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


# reset: set a new password; invite: set a first password (the account was made for the person);
# confirm: prove the address given at sign-up, which activates the account.
TOKEN_PURPOSES = ("reset", "invite", "confirm")


class AccountToken(Base):
    """A one-time link sent to a person; only the SHA-256 of its secret is kept, so a copy of the table opens nothing."""

    __tablename__ = "account_tokens"
    __table_args__ = (one_of("purpose", TOKEN_PURPOSES),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class SignInFailure(Base):
    """A failed sign-in, by the address typed (whether or not it has an account) and the client's IP address.

    Counted in the database so that every worker agrees on a lock; rows older than any window are deleted
    as new ones come.
    """

    __tablename__ = "sign_in_failures"
    __table_args__ = (Index("ix_sign_in_failures_email_failed_at", "email", "failed_at"),
                      Index("ix_sign_in_failures_address_failed_at", "address", "failed_at"))

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    address: Mapped[str] = mapped_column(String(64))
    failed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
