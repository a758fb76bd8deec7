"""API keys: random secrets shown once, stored as SHA-256 digests, listed by prefix.

A key carries 256 random bits, so a fast digest is a strong hash for it: no
dictionary applies, and checking a key on every request must cost
microseconds, not the tens of milliseconds of a password hash (the practice of
GitHub's and Stripe's tokens).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

KEY_PREFIX = "tck_"
_KEY = re.compile(r"^tck_([A-Za-z0-9]{8})_([A-Za-z0-9_-]{43})$")
_ALPHANUMERIC = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def new_key() -> tuple[str, str, str]:
    """(the key to show once, its prefix, its digest to store)."""
    prefix = "".join(secrets.choice(_ALPHANUMERIC) for _ in range(8))
    key = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    return key, prefix, digest(key)


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def prefix_of(key: str) -> str | None:
    """The lookup prefix of a well-formed key, else None."""
    m = _KEY.match(key)
    return m.group(1) if m else None


def matches(key: str, stored_digest: str) -> bool:
    return hmac.compare_digest(digest(key), stored_digest)
