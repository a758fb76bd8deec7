"""Sign in, refresh, sign out and who-am-I (PRODUCT.md §6)."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from starlette.responses import Response

from trafficcast.api.auth_models import LoginIn, Me, RefreshIn, Session, User
from trafficcast.api.authz import allow, principal_of
from trafficcast.api.errors import ApiError
from trafficcast.api.models import ERROR_RESPONSES
from trafficcast.auth import service
from trafficcast.auth.accounts import UserRecord
from trafficcast.auth.directory import AccountDirectory
from trafficcast.auth.roles import EVERYONE, READERS
from trafficcast.auth.tokens import TokenError, TokenIssuer
from trafficcast.runtime import Runtime

log = logging.getLogger(__name__)
router = APIRouter(prefix="/auth", tags=["auth"])

_BAD_CREDENTIALS = "wrong user name or password, or the account is disabled"


def _parts(request: Request) -> tuple[Runtime, AccountDirectory, TokenIssuer]:
    s = request.app.state
    return s.runtime, s.accounts, s.tokens


def _session(issuer: TokenIssuer, user: UserRecord) -> Session:
    pair = issuer.issue(user.username, user.token_epoch)
    return Session(
        access_token=pair.access_token,
        refresh_token=pair.refresh_token,
        expires_in=pair.expires_in,
        refresh_expires_in=pair.refresh_expires_in,
        user=User.of(user),
    )


def _invalid() -> ApiError:
    return ApiError(
        401,
        _BAD_CREDENTIALS,
        code="invalid_credentials",
        headers={"WWW-Authenticate": "Bearer"},
    )


@router.post(
    "/login",
    response_model=Session,
    responses={**ERROR_RESPONSES, 401: ERROR_RESPONSES[400] | {"description": "Bad credentials"}},
    dependencies=[allow(EVERYONE)],
    summary="Sign in with a user name and password; returns an access and a refresh token",
)
def login(body: LoginIn, request: Request) -> Session:
    # A plain def: Argon2 takes tens of milliseconds and runs on the thread pool.
    runtime, directory, issuer = _parts(request)
    user = service.authenticate(runtime.store, body.username, body.password)
    if user is None:
        request.app.state.metrics.auth_failed("invalid_credentials")
        log.info("sign-in refused", extra={"event": "login_failed", "username": body.username})
        raise _invalid()
    directory.reload()
    log.info("signed in", extra={"event": "login", "username": user.username})
    return _session(issuer, user)


@router.post(
    "/refresh",
    response_model=Session,
    responses={**ERROR_RESPONSES, 401: ERROR_RESPONSES[400] | {"description": "Bad token"}},
    dependencies=[allow(EVERYONE)],
    summary="Trade a refresh token for a new pair; the user's current role applies",
)
def refresh(body: RefreshIn, request: Request) -> Session:
    runtime, _, issuer = _parts(request)
    try:
        claims = issuer.verify(body.refresh_token, "refresh")
    except TokenError as exc:
        raise _invalid() from exc
    # Read from the store, not the cache: a disable elsewhere must stop refreshes at once.
    user = service.find_user(runtime.store, claims.username)
    if user is None or user.disabled or user.token_epoch != claims.epoch:
        raise _invalid()
    return _session(issuer, user)


@router.post(
    "/logout",
    status_code=204,
    responses=ERROR_RESPONSES,
    dependencies=[allow(READERS)],
    summary="Sign out: every access and refresh token of this user stops working (and "
    "their open WebSockets close)",
)
def logout(request: Request) -> Response:
    runtime, directory, _ = _parts(request)
    p = principal_of(request)
    if p is None or p.kind != "user":
        raise ApiError(400, "only a signed-in user can sign out; API keys are revoked instead")
    service.sign_out_everywhere(runtime.store, p.subject)
    directory.reload()
    return Response(status_code=204)


@router.get(
    "/me",
    response_model=Me,
    dependencies=[allow(EVERYONE)],
    summary="Who this request is: a user, an API key, or anonymous (role null: sign in)",
)
async def me(request: Request) -> Me:
    p = principal_of(request)
    if p is None:
        raise ApiError(401, "authentication required")
    return Me(
        kind=p.kind,
        username=None if p.kind == "anonymous" else p.subject,
        role=p.role,
        tier=p.tier,
    )
