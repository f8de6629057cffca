"""Password hashes (Argon2id, with argon2-cffi's parameters)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
# Checked against when an account does not exist, so that a wrong address takes as long as a wrong password.
_DUMMY = _hasher.hash("not a password anyone has")


def hash_password(password: str) -> str:
    """Return the hash to store for `password`."""
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """Return whether `password` matches the `stored` hash (None: no account or no password yet)."""
    try:
        return _hasher.verify(stored or _DUMMY, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """Return whether `stored` was made with weaker parameters than today's."""
    return _hasher.check_needs_rehash(stored)
