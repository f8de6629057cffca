"""Sign-in lock-out: failures counted in the database per address typed and per client IP address.

A key (an e-mail address, or an IP address) is locked when its last `limit` failures all fell within
`window` minutes; the lock lasts `lock` minutes from the last of them. Attempts during a lock are refused
before the password is checked and are not counted, so a lock ends on time however hard it is hammered.
Failures for addresses without an account count the same, so a lock tells nothing about who has one.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from .models import SignInFailure


@dataclass(frozen=True)
class Limits:
    """The numbers of the lock-out, from the settings."""

    account: int = 5  # failures per e-mail address typed; 0: no limit
    address: int = 20  # failures per client IP address; 0: no limit
    window: int = 15  # minutes
    lock: int = 15  # minutes

    @classmethod
    def from_config(cls, config: dict) -> Limits:
        """Return the limits the settings give."""
        return cls(config["SIGN_IN_ACCOUNT_LIMIT"], config["SIGN_IN_ADDRESS_LIMIT"],
                   config["SIGN_IN_WINDOW_MINUTES"], config["SIGN_IN_LOCK_MINUTES"])

    @property
    def kept(self) -> dt.timedelta:
        """How long a failure can still matter."""
        return dt.timedelta(minutes=self.window + self.lock)


def _locked_for(session: Session, column, value: str, limit: int, limits: Limits, at: dt.datetime) -> int:
    """Return the seconds left of the lock on `value` in `column`, 0 when there is none."""
    if limit <= 0:
        return 0
    times = session.scalars(select(SignInFailure.failed_at).where(column == value, SignInFailure.failed_at > at - limits.kept)
                            .order_by(SignInFailure.failed_at.desc()).limit(limit)).all()
    if len(times) < limit or times[0] - times[-1] > dt.timedelta(minutes=limits.window):
        return 0
    left = (times[0] + dt.timedelta(minutes=limits.lock) - at).total_seconds()
    return math.ceil(left) if left > 0 else 0


def locked(session: Session, email: str, address: str, limits: Limits, at: dt.datetime) -> tuple[str, int] | None:
    """Return ("account" or "address", seconds left) when sign-ins for `email` or from `address` are locked."""
    for what, column, value, limit in (("account", SignInFailure.email, email, limits.account),
                                       ("address", SignInFailure.address, address, limits.address)):
        left = _locked_for(session, column, value, limit, limits, at)
        if left:
            return what, left
    return None


def record_failure(session: Session, email: str, address: str, limits: Limits, at: dt.datetime) -> None:
    """Count a failed sign-in, and forget the failures too old to matter."""
    session.execute(delete(SignInFailure).where(SignInFailure.failed_at < at - limits.kept))
    session.add(SignInFailure(email=email[:254], address=address[:64], failed_at=at))
    session.flush()


def clear_account(session: Session, email: str) -> None:
    """Forget the failures for `email` (after it signed in); its IP address's failures still count."""
    session.execute(delete(SignInFailure).where(SignInFailure.email == email))
