"""Users and API keys as stored: plain records and the rules their fields follow."""

from __future__ import annotations

import re
from dataclasses import dataclass

from trafficcast.auth.roles import Role, Tier

USERNAME = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")
USERNAME_RULE = "must be 1-64 characters of letters, digits and . _ @ -"
KEY_NAME_MAX = 100


@dataclass(frozen=True, slots=True)
class UserRecord:
    username: str
    password_hash: str
    role: Role
    tier: Tier
    disabled: bool
    token_epoch: int  # raised to end every token issued before (sign out, disable, new password)
    created_ms: int
    updated_ms: int
    last_login_ms: int | None = None


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    prefix: str
    key_hash: str
    name: str
    role: Role
    tier: Tier
    created_by: str
    created_ms: int
    revoked_ms: int | None = None

    @property
    def active(self) -> bool:
        return self.revoked_ms is None


def username_problem(username: str) -> str | None:
    return None if USERNAME.match(username) else USERNAME_RULE


def key_name_problem(name: str) -> str | None:
    name = name.strip()
    if not name:
        return "must not be empty"
    if len(name) > KEY_NAME_MAX:
        return f"must be at most {KEY_NAME_MAX} characters"
    if any(ord(c) < 32 for c in name):
        return "must not contain control characters"
    return None


class AccountExists(ValueError):
    """A user name or key prefix that is already taken."""
