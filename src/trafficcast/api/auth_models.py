"""Request and response shapes of sign-in, users and API keys."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from trafficcast.auth.accounts import KEY_NAME_MAX, ApiKeyRecord, UserRecord
from trafficcast.auth.passwords import MAX_LENGTH, MIN_LENGTH
from trafficcast.auth.roles import Role, Tier

_STRICT = ConfigDict(extra="forbid")


def _time(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC)


class LoginIn(BaseModel):
    model_config = _STRICT
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=MAX_LENGTH)


class RefreshIn(BaseModel):
    model_config = _STRICT
    refresh_token: str = Field(min_length=1, max_length=4096)


class User(BaseModel):
    username: str
    role: Role
    tier: Tier
    disabled: bool
    created_at: datetime
    updated_at: datetime
    last_login_at: datetime | None

    @classmethod
    def of(cls, u: UserRecord) -> User:
        return cls(
            username=u.username,
            role=u.role,
            tier=u.tier,
            disabled=u.disabled,
            created_at=_time(u.created_ms),
            updated_at=_time(u.updated_ms),
            last_login_at=_time(u.last_login_ms),
        )


class Session(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds the access token is valid")
    refresh_expires_in: int = Field(description="Seconds the refresh token is valid")
    user: User


class Me(BaseModel):
    kind: Literal["user", "api_key", "anonymous"]
    username: str | None = Field(description="The user, or the API key's prefix")
    role: Role | None = Field(description="null: anonymous callers may only sign in")
    tier: Tier


class UserIn(BaseModel):
    model_config = _STRICT
    username: str = Field(description="1-64 of letters, digits and . _ @ -")
    password: str = Field(description=f"{MIN_LENGTH}-{MAX_LENGTH} characters")
    role: Role
    tier: Tier = Tier.STANDARD


class UserChange(BaseModel):
    model_config = _STRICT
    role: Role | None = None
    tier: Tier | None = None
    disabled: bool | None = None
    password: str | None = Field(None, description=f"{MIN_LENGTH}-{MAX_LENGTH} characters")


class UserList(BaseModel):
    users: list[User]


class ApiKey(BaseModel):
    prefix: str = Field(description="Names the key in lists and logs; the key starts tck_<prefix>_")
    name: str
    role: Role
    tier: Tier
    created_by: str
    created_at: datetime
    revoked_at: datetime | None

    @classmethod
    def of(cls, k: ApiKeyRecord) -> ApiKey:
        return cls(
            prefix=k.prefix,
            name=k.name,
            role=k.role,
            tier=k.tier,
            created_by=k.created_by,
            created_at=_time(k.created_ms),
            revoked_at=_time(k.revoked_ms),
        )


class NewApiKey(ApiKey):
    key: str = Field(description="The key itself: shown this once, stored only as a hash")


class ApiKeyIn(BaseModel):
    model_config = _STRICT
    name: str = Field(max_length=KEY_NAME_MAX)
    role: Role = Role.API
    tier: Tier = Tier.STANDARD


class ApiKeyList(BaseModel):
    keys: list[ApiKey]
