"""Password hashing with Argon2id (argon2-cffi's defaults follow RFC 9106's advice)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()
# Verified against when the user does not exist, so an unknown name costs the same
# time as a wrong password and timing does not reveal which names exist.
_DECOY = _HASHER.hash("decoy password that matches nothing")

MIN_LENGTH = 12
MAX_LENGTH = 256  # Argon2 accepts more; a cap keeps a huge password from being a cheap DoS


def password_problem(password: str) -> str | None:
    """Why a new password is refused, or None."""
    if len(password) < MIN_LENGTH:
        return f"must be at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"must be at most {MAX_LENGTH} characters"
    if password.strip() == "":
        return "must not be blank"
    return None


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when password matches; always spends one Argon2 verification."""
    try:
        return _HASHER.verify(stored_hash or _DECOY, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _HASHER.check_needs_rehash(stored_hash)
