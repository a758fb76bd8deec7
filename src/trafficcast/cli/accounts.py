"""`trafficcast users …` and `trafficcast keys …`: accounts from the command line.

They write the store directly. The embedded DuckDB file admits one process at a
time, so with a running embedded server use the dashboard (Settings) or the
API instead; with PostgreSQL both work at once, and running API processes pick
the change up within TRAFFICCAST_ACCOUNTS_REFRESH_S.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from trafficcast.auth import service
from trafficcast.auth.accounts import AccountExists
from trafficcast.auth.roles import Role, Tier
from trafficcast.cli.common import DataDir, _fail, _settings, console
from trafficcast.runtime import open_store
from trafficcast.store.base import Store, StoreUnavailable

stdout = Console()  # tables are the commands' output; messages go to stderr

users_app = typer.Typer(
    help="Users of the dashboard and API: add, list, set-role, disable, enable, set-password.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
keys_app = typer.Typer(
    help="API keys for machine clients: create (shown once), list (by prefix), revoke.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)

RoleOpt = Annotated[Role, typer.Option(help="viewer, analyst, admin or api")]
TierOpt = Annotated[Tier, typer.Option(help="Rate-limit tier: standard or premium")]
PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from standard input")
]
RandomPassword = Annotated[
    bool, typer.Option("--random-password", help="Make a random password and print it once")
]


@contextmanager
def _store(data_dir: Path | None) -> Iterator[Store]:
    try:
        settings = _settings(None, None, data_dir)
    except ValidationError as exc:
        _fail(f"invalid settings: {exc}")
    try:
        store = open_store(settings)
        store.init_schema()
    except StoreUnavailable as exc:
        hint = (
            ""
            if settings.uses_postgres
            else " (a running embedded server holds the database file: manage accounts in the "
            "dashboard's Settings or through the API, or stop the server)"
        )
        _fail(f"cannot open the store: {exc}{hint}")
    try:
        yield store
    finally:
        store.close()


def _password(stdin: bool, random: bool) -> tuple[str, bool]:
    """(the password, whether it was generated and must be shown)."""
    if stdin and random:
        _fail("give --password-stdin or --random-password, not both")
    if random:
        return service.random_password(), True
    if stdin:
        return sys.stdin.readline().rstrip("\r\n"), False
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True), False


def _when(ms: int | None) -> str:
    if ms is None:
        return "-"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")


@users_app.command("add")
def add_user(
    username: str,
    role: RoleOpt = Role.VIEWER,
    tier: TierOpt = Tier.STANDARD,
    password_stdin: PasswordStdin = False,
    random_password: RandomPassword = False,
    data_dir: DataDir = None,
) -> None:
    """Add a user (the password is prompted for unless given otherwise)."""
    password, show = _password(password_stdin, random_password)
    with _store(data_dir) as store:
        try:
            service.create_user(store, username, password, role, tier)
        except service.AccountProblem as exc:
            _fail(f"{exc.field} {exc.reason}")
        except AccountExists as exc:
            _fail(str(exc))
    typer.echo(f"added {username} ({role}, {tier})")
    if show:
        typer.echo(f"password (shown once): {password}")


@users_app.command("list")
def list_users(data_dir: DataDir = None) -> None:
    """Every user with role, tier and state."""
    with _store(data_dir) as store:
        users = store.users()
    table = Table("user", "role", "tier", "state", "last sign-in", "created")
    for u in users:
        state = "disabled" if u.disabled else "enabled"
        table.add_row(
            u.username, u.role, u.tier, state, _when(u.last_login_ms), _when(u.created_ms)
        )
    stdout.print(table)


def _change(data_dir: Path | None, username: str, **changes: object) -> None:
    with _store(data_dir) as store:
        try:
            user = service.update_user(store, username, **changes)  # type: ignore[arg-type]
        except service.AccountNotFound as exc:
            _fail(str(exc))
        except (service.LastAdmin, service.AccountProblem) as exc:
            _fail(str(exc))
    state = "disabled" if user.disabled else "enabled"
    typer.echo(f"{user.username}: {user.role}, {user.tier}, {state}")


@users_app.command("set-role")
def set_role(
    username: str,
    role: Annotated[Role, typer.Argument(help="viewer, analyst, admin or api")],
    tier: Annotated[Tier | None, typer.Option(help="Also change the tier")] = None,
    data_dir: DataDir = None,
) -> None:
    """Change a user's role (and tier); it applies to their next request."""
    _change(data_dir, username, role=role, tier=tier)


@users_app.command("disable")
def disable(username: str, data_dir: DataDir = None) -> None:
    """Disable a user: sign-in refused and every session ended."""
    _change(data_dir, username, disabled=True)


@users_app.command("enable")
def enable(username: str, data_dir: DataDir = None) -> None:
    """Enable a disabled user again."""
    _change(data_dir, username, disabled=False)


@users_app.command("set-password")
def set_password(
    username: str,
    password_stdin: PasswordStdin = False,
    random_password: RandomPassword = False,
    data_dir: DataDir = None,
) -> None:
    """Give a user a new password; their sessions end."""
    password, show = _password(password_stdin, random_password)
    _change(data_dir, username, password=password)
    if show:
        typer.echo(f"password (shown once): {password}")


@keys_app.command("create")
def create_key(
    name: Annotated[str, typer.Argument(help="What the key is for, e.g. 'district 8 feed'")],
    role: RoleOpt = Role.API,
    tier: TierOpt = Tier.STANDARD,
    data_dir: DataDir = None,
) -> None:
    """Create an API key and print it once (only its hash is kept)."""
    with _store(data_dir) as store:
        try:
            key, record = service.create_key(store, name, role, tier, "cli")
        except service.AccountProblem as exc:
            _fail(f"{exc.field} {exc.reason}")
    console.print(f"created key {record.prefix} ({record.role}, {record.tier}) for {record.name}")
    # The key alone on stdout, so scripts can capture it.
    typer.echo(key)


@keys_app.command("list")
def list_keys(data_dir: DataDir = None) -> None:
    """Every API key by prefix (the keys themselves are not stored)."""
    with _store(data_dir) as store:
        keys = store.api_keys()
    table = Table("prefix", "name", "role", "tier", "created", "by", "revoked")
    for k in keys:
        table.add_row(
            k.prefix,
            k.name,
            k.role,
            k.tier,
            _when(k.created_ms),
            k.created_by,
            _when(k.revoked_ms),
        )
    stdout.print(table)


@keys_app.command("revoke")
def revoke_key(prefix: str, data_dir: DataDir = None) -> None:
    """Revoke an API key by its prefix."""
    with _store(data_dir) as store:
        try:
            record = service.revoke_key(store, prefix)
        except service.AccountNotFound as exc:
            _fail(str(exc))
    typer.echo(f"revoked {record.prefix} ({record.name})")
