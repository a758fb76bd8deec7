"""Users and API keys in SQL, shared by the DuckDB and PostgreSQL adapters.

Times are epoch milliseconds in BIGINT columns: these rows are read whole into
the API's account cache, never filtered by time, and one type avoids each
dialect's timestamp conversions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from trafficcast.auth.accounts import ApiKeyRecord, UserRecord
from trafficcast.auth.roles import Role, Tier

DDL = """
CREATE TABLE IF NOT EXISTS users (
    username TEXT PRIMARY KEY, password_hash TEXT NOT NULL, role TEXT NOT NULL,
    tier TEXT NOT NULL, disabled BOOLEAN NOT NULL, token_epoch INTEGER NOT NULL,
    created_ms BIGINT NOT NULL, updated_ms BIGINT NOT NULL, last_login_ms BIGINT);
CREATE TABLE IF NOT EXISTS api_keys (
    prefix TEXT PRIMARY KEY, key_hash TEXT NOT NULL, name TEXT NOT NULL, role TEXT NOT NULL,
    tier TEXT NOT NULL, created_by TEXT NOT NULL, created_ms BIGINT NOT NULL, revoked_ms BIGINT);
"""

USER_COLUMNS = (
    "username, password_hash, role, tier, disabled, token_epoch, created_ms, updated_ms, "
    "last_login_ms"
)
KEY_COLUMNS = "prefix, key_hash, name, role, tier, created_by, created_ms, revoked_ms"


def insert_user(param: str) -> str:
    return f"INSERT INTO users ({USER_COLUMNS}) VALUES ({', '.join([param] * 9)})"


def update_user(param: str) -> str:
    return (
        f"UPDATE users SET password_hash = {param}, role = {param}, tier = {param}, "
        f"disabled = {param}, token_epoch = {param}, updated_ms = {param}, "
        f"last_login_ms = {param} WHERE username = {param}"
    )


def insert_key(param: str) -> str:
    return f"INSERT INTO api_keys ({KEY_COLUMNS}) VALUES ({', '.join([param] * 8)})"


def revoke_key(param: str) -> str:
    return (
        f"UPDATE api_keys SET revoked_ms = coalesce(revoked_ms, {param}) WHERE prefix = {param} "
        f"RETURNING {KEY_COLUMNS}"
    )


SELECT_USERS = f"SELECT {USER_COLUMNS} FROM users ORDER BY username"
SELECT_KEYS = f"SELECT {KEY_COLUMNS} FROM api_keys ORDER BY created_ms, prefix"


def user_params(u: UserRecord) -> list[Any]:
    return [
        u.username,
        u.password_hash,
        str(u.role),
        str(u.tier),
        u.disabled,
        u.token_epoch,
        u.created_ms,
        u.updated_ms,
        u.last_login_ms,
    ]


def user_update_params(u: UserRecord) -> list[Any]:
    p = user_params(u)
    return [*p[1:6], p[7], p[8], p[0]]


def key_params(k: ApiKeyRecord) -> list[Any]:
    return [
        k.prefix,
        k.key_hash,
        k.name,
        str(k.role),
        str(k.tier),
        k.created_by,
        k.created_ms,
        k.revoked_ms,
    ]


def user_from_row(row: Sequence[Any]) -> UserRecord:
    return UserRecord(
        username=str(row[0]),
        password_hash=str(row[1]),
        role=Role(row[2]),
        tier=Tier(row[3]),
        disabled=bool(row[4]),
        token_epoch=int(row[5]),
        created_ms=int(row[6]),
        updated_ms=int(row[7]),
        last_login_ms=None if row[8] is None else int(row[8]),
    )


def key_from_row(row: Sequence[Any]) -> ApiKeyRecord:
    return ApiKeyRecord(
        prefix=str(row[0]),
        key_hash=str(row[1]),
        name=str(row[2]),
        role=Role(row[3]),
        tier=Tier(row[4]),
        created_by=str(row[5]),
        created_ms=int(row[6]),
        revoked_ms=None if row[7] is None else int(row[7]),
    )
