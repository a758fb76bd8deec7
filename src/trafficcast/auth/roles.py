"""Roles, rate tiers and who is calling: the vocabulary every other auth module uses."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal


class Role(StrEnum):
    VIEWER = "viewer"  # reads the dashboard and data
    ANALYST = "analyst"  # plus acting on alerts, training models, exports and reports
    ADMIN = "admin"  # plus configuration, users and keys
    API = "api"  # machine clients: ingest and read


class Tier(StrEnum):
    STANDARD = "standard"
    PREMIUM = "premium"


# The role sets routes admit (api/authz.py); named for what they allow.
EVERYONE: frozenset[Role | None] = frozenset({None, *Role})  # anonymous included
READERS: frozenset[Role | None] = frozenset(Role)
SIGNED_IN_USERS: frozenset[Role | None] = frozenset({Role.VIEWER, Role.ANALYST, Role.ADMIN})
ANALYSTS: frozenset[Role | None] = frozenset({Role.ANALYST, Role.ADMIN})
INGESTERS: frozenset[Role | None] = frozenset({Role.API, Role.ADMIN})
ADMINS: frozenset[Role | None] = frozenset({Role.ADMIN})

PrincipalKind = Literal["user", "api_key", "anonymous"]


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller of one request, as the auth middleware resolved it."""

    kind: PrincipalKind
    subject: str  # user name, API key prefix, or the client address when anonymous
    role: Role | None  # None: anonymous without the anonymous role, may only sign in
    tier: Tier = Tier.STANDARD
    token_epoch: int | None = None  # a user's: the epoch of the token presented

    @property
    def rate_class(self) -> str:
        if self.kind == "anonymous":
            return "anonymous"
        return "premium" if self.tier is Tier.PREMIUM else "authenticated"

    @property
    def rate_key(self) -> str:
        return f"{self.kind}:{self.subject}"
