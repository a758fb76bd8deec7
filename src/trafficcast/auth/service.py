"""What the API and the CLI do with accounts: create, change, sign in, issue and revoke keys.

Rules that span records live here: at least one enabled admin remains, and a
disable or a new password ends the user's existing tokens.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import replace

from trafficcast.auth import api_keys, passwords
from trafficcast.auth.accounts import (
    AccountExists,
    ApiKeyRecord,
    UserRecord,
    key_name_problem,
    username_problem,
)
from trafficcast.auth.roles import Role, Tier
from trafficcast.store.base import Store

_SECRET_STATE_KEY = "auth.jwt_secret"


class AccountProblem(ValueError):
    """A field the caller gave that cannot be accepted."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class AccountNotFound(LookupError):
    pass


class LastAdmin(ValueError):
    """The change would leave no enabled admin, and nobody could manage accounts again."""


def _now_ms() -> int:
    return int(time.time() * 1000)


def _check_password(password: str, field: str = "password") -> None:
    problem = passwords.password_problem(password)
    if problem:
        raise AccountProblem(field, problem)


def find_user(store: Store, username: str) -> UserRecord | None:
    return next((u for u in store.users() if u.username == username), None)


def create_user(
    store: Store, username: str, password: str, role: Role, tier: Tier = Tier.STANDARD
) -> UserRecord:
    problem = username_problem(username)
    if problem:
        raise AccountProblem("username", problem)
    _check_password(password)
    now = _now_ms()
    user = UserRecord(
        username=username,
        password_hash=passwords.hash_password(password),
        role=role,
        tier=tier,
        disabled=False,
        token_epoch=0,
        created_ms=now,
        updated_ms=now,
    )
    store.add_user(user)
    return user


def update_user(
    store: Store,
    username: str,
    *,
    role: Role | None = None,
    tier: Tier | None = None,
    disabled: bool | None = None,
    password: str | None = None,
) -> UserRecord:
    users = store.users()
    user = next((u for u in users if u.username == username), None)
    if user is None:
        raise AccountNotFound(f"no user named {username!r}")
    changed = replace(
        user,
        role=role if role is not None else user.role,
        tier=tier if tier is not None else user.tier,
        disabled=disabled if disabled is not None else user.disabled,
        updated_ms=_now_ms(),
    )
    if password is not None:
        _check_password(password)
        changed = replace(changed, password_hash=passwords.hash_password(password))
    if password is not None or (changed.disabled and not user.disabled):
        changed = replace(changed, token_epoch=user.token_epoch + 1)
    others = (u for u in users if u.username != username)
    if _is_admin(user) and not _is_admin(changed) and not any(_is_admin(u) for u in others):
        raise LastAdmin("at least one enabled admin must remain")
    store.update_user(changed)
    return changed


def _is_admin(user: UserRecord) -> bool:
    return user.role is Role.ADMIN and not user.disabled


def authenticate(store: Store, username: str, password: str) -> UserRecord | None:
    """The enabled user with this password, its sign-in time recorded; else None.

    Every failure costs one Argon2 verification, whatever its cause.
    """
    user = find_user(store, username) if username_problem(username) is None else None
    ok = passwords.verify_password(user.password_hash if user else None, password)
    if user is None or not ok or user.disabled:
        return None
    signed_in = replace(user, last_login_ms=_now_ms())
    if passwords.needs_rehash(user.password_hash):
        signed_in = replace(signed_in, password_hash=passwords.hash_password(password))
    store.update_user(signed_in)
    return signed_in


def sign_out_everywhere(store: Store, username: str) -> None:
    user = find_user(store, username)
    if user is not None:
        store.update_user(replace(user, token_epoch=user.token_epoch + 1, updated_ms=_now_ms()))


def create_key(
    store: Store, name: str, role: Role, tier: Tier, created_by: str
) -> tuple[str, ApiKeyRecord]:
    """(the key, shown to its owner once and never stored; its record)."""
    problem = key_name_problem(name)
    if problem:
        raise AccountProblem("name", problem)
    for _ in range(3):  # 62^8 prefixes: a collision is rare, but possible
        key, prefix, digest = api_keys.new_key()
        record = ApiKeyRecord(prefix, digest, name.strip(), role, tier, created_by, _now_ms())
        try:
            store.add_api_key(record)
        except AccountExists:
            continue
        return key, record
    raise RuntimeError("could not find a free API key prefix")


def revoke_key(store: Store, prefix: str) -> ApiKeyRecord:
    record = store.revoke_api_key(prefix, _now_ms())
    if record is None:
        raise AccountNotFound(f"no API key with prefix {prefix!r}")
    return record


def random_password() -> str:
    return secrets.token_urlsafe(18)  # 144 bits, 24 characters


def token_secret(store: Store, configured: str) -> str:
    """The configured signing key, else one made once and kept in the store.

    Kept in the store, every API process on that store signs and checks with
    the same key, and tokens survive restarts.
    """
    if configured:
        return configured
    secret = store.get_state(_SECRET_STATE_KEY)
    if secret is None:
        store.set_state(_SECRET_STATE_KEY, secrets.token_urlsafe(48))
        # Two processes starting together: the last write wins and both read it back.
        secret = store.get_state(_SECRET_STATE_KEY)
    assert secret is not None
    return secret
