"""The authenticator's remembered tokens never outlive the token or the account."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from trafficcast.auth import service
from trafficcast.auth.credentials import Authenticator, CredentialError
from trafficcast.auth.directory import AccountDirectory
from trafficcast.auth.roles import Role
from trafficcast.auth.tokens import TokenIssuer
from trafficcast.store.duckdb_store import DuckDBStore

SECRET = "s" * 40


@pytest.fixture
def setup(tmp_path: Path) -> tuple[DuckDBStore, AccountDirectory, Authenticator]:
    store = DuckDBStore(tmp_path / "a.duckdb")
    store.init_schema()
    service.create_user(store, "vera", "viewer password 1", Role.VIEWER)
    service.create_user(store, "boss", "admin password 12", Role.ADMIN)
    directory = AccountDirectory(store)
    directory.reload()
    return store, directory, Authenticator(directory, TokenIssuer(SECRET, 60, 600), None)


def test_a_remembered_token_still_expires(
    setup: tuple[DuckDBStore, AccountDirectory, Authenticator],
) -> None:
    _, _, auth = setup
    token = TokenIssuer(SECRET, 60, 600).issue("vera", 0, now=time.time() - 59).access_token
    assert auth.bearer(token).subject == "vera"
    assert auth.bearer(token).role is Role.VIEWER  # second time from memory
    time.sleep(1.2)
    with pytest.raises(CredentialError, match="expired"):
        auth.bearer(token)


def test_a_remembered_token_follows_the_account(
    setup: tuple[DuckDBStore, AccountDirectory, Authenticator],
) -> None:
    store, directory, auth = setup
    token = TokenIssuer(SECRET, 60, 600).issue("vera", 0).access_token
    assert auth.bearer(token).role is Role.VIEWER
    service.update_user(store, "vera", role=Role.ADMIN)
    directory.reload()
    assert auth.bearer(token).role is Role.ADMIN
    service.update_user(store, "vera", disabled=True)
    directory.reload()
    with pytest.raises(CredentialError, match="revoked"):
        auth.bearer(token)


def test_a_token_altered_after_use_is_verified_again(
    setup: tuple[DuckDBStore, AccountDirectory, Authenticator],
) -> None:
    _, _, auth = setup
    token = TokenIssuer(SECRET, 60, 600).issue("vera", 0).access_token
    auth.bearer(token)
    head, payload, signature = token.split(".")
    other = TokenIssuer("x" * 40, 60, 600).issue("vera", 0).access_token
    for forged in (f"{head}.{payload}.{other.split('.')[2]}", f"{head}.{payload}x.{signature}"):
        with pytest.raises(CredentialError, match="invalid"):
            auth.bearer(forged)
    assert auth.bearer(token).subject == "vera"
