"""Users and API keys, for admins (PRODUCT.md §6). The CLI does the same (cli/accounts.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path, Request

from trafficcast.api.auth_models import (
    ApiKey,
    ApiKeyIn,
    ApiKeyList,
    NewApiKey,
    User,
    UserChange,
    UserIn,
    UserList,
)
from trafficcast.api.authz import allow, principal_of
from trafficcast.api.errors import ApiError
from trafficcast.api.models import CONFLICT_RESPONSES, ERROR_RESPONSES
from trafficcast.auth import service
from trafficcast.auth.accounts import USERNAME, AccountExists
from trafficcast.auth.directory import AccountDirectory
from trafficcast.auth.roles import ADMINS
from trafficcast.store.base import Store

router = APIRouter(tags=["accounts"], dependencies=[allow(ADMINS)])

UserName = Annotated[str, Path(pattern=USERNAME.pattern, description="The user's name")]
KeyPrefix = Annotated[str, Path(pattern=r"^[A-Za-z0-9]{8}$", description="The key's prefix")]


def _store(request: Request) -> tuple[Store, AccountDirectory]:
    return request.app.state.runtime.store, request.app.state.accounts


def _problem(exc: service.AccountProblem) -> ApiError:
    return ApiError(
        422,
        f"invalid request: {exc.field}: {exc.reason}",
        details=[{"field": exc.field, "reason": exc.reason}],
    )


@router.get("/api/users", response_model=UserList, summary="Every user")
def list_users(request: Request) -> UserList:
    store, _ = _store(request)
    return UserList(users=[User.of(u) for u in store.users()])


@router.post(
    "/api/users",
    response_model=User,
    status_code=201,
    responses=CONFLICT_RESPONSES,
    summary="Add a user (409 if the name is taken)",
)
def add_user(body: UserIn, request: Request) -> User:
    store, directory = _store(request)
    try:
        user = service.create_user(store, body.username, body.password, body.role, body.tier)
    except service.AccountProblem as exc:
        raise _problem(exc) from exc
    except AccountExists as exc:
        raise ApiError(409, str(exc), details=[{"field": "username", "reason": "taken"}]) from exc
    directory.reload()
    return User.of(user)


@router.patch(
    "/api/users/{username}",
    response_model=User,
    responses=CONFLICT_RESPONSES,
    summary="Change a user's role, tier, password or disable them (409 if no admin would "
    "remain); a disable or new password ends their sessions",
)
def change_user(username: UserName, body: Annotated[UserChange, Body()], request: Request) -> User:
    store, directory = _store(request)
    try:
        user = service.update_user(
            store,
            username,
            role=body.role,
            tier=body.tier,
            disabled=body.disabled,
            password=body.password,
        )
    except service.AccountProblem as exc:
        raise _problem(exc) from exc
    except service.AccountNotFound as exc:
        raise ApiError(404, str(exc)) from exc
    except service.LastAdmin as exc:
        raise ApiError(409, str(exc)) from exc
    directory.reload()
    return User.of(user)


@router.get("/api/keys", response_model=ApiKeyList, summary="Every API key, by prefix")
def list_keys(request: Request) -> ApiKeyList:
    store, _ = _store(request)
    return ApiKeyList(keys=[ApiKey.of(k) for k in store.api_keys()])


@router.post(
    "/api/keys",
    response_model=NewApiKey,
    status_code=201,
    responses=ERROR_RESPONSES,
    summary="Create an API key; the key is in this answer only, never again",
)
def create_key(body: ApiKeyIn, request: Request) -> NewApiKey:
    store, directory = _store(request)
    p = principal_of(request)
    try:
        key, record = service.create_key(
            store, body.name, body.role, body.tier, p.subject if p else "unknown"
        )
    except service.AccountProblem as exc:
        raise _problem(exc) from exc
    directory.reload()
    return NewApiKey(key=key, **ApiKey.of(record).model_dump())


@router.delete(
    "/api/keys/{prefix}",
    response_model=ApiKey,
    responses=ERROR_RESPONSES,
    summary="Revoke an API key: it stops working at once in this process, within "
    "TRAFFICCAST_ACCOUNTS_REFRESH_S in others",
)
def revoke_key(prefix: KeyPrefix, request: Request) -> ApiKey:
    store, directory = _store(request)
    try:
        record = service.revoke_key(store, prefix)
    except service.AccountNotFound as exc:
        raise ApiError(404, str(exc)) from exc
    directory.reload()
    return ApiKey.of(record)
