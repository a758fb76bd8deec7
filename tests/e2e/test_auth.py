"""Sign-in, tokens, API keys and per-class rate limits against a real server."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import jwt
import pytest
from prometheus_client.parser import text_string_to_metric_families
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from trafficcast.api.background import BackgroundServer
from trafficcast.auth import service
from trafficcast.auth.roles import Role, Tier
from trafficcast.auth.tokens import TokenIssuer
from trafficcast.config import Settings
from trafficcast.runtime import Runtime

pytestmark = pytest.mark.slow

ADMIN_PASSWORD = "admin password 1234"
VIEWER_PASSWORD = "viewer password 1234"


@dataclass
class Served:
    server: BackgroundServer
    runtime: Runtime
    client: httpx.Client

    def login(self, username: str, password: str) -> dict[str, str]:
        r = self.client.post("/auth/login", json={"username": username, "password": password})
        assert r.status_code == 200, r.text
        return dict(r.json())

    def bearer(self, username: str, password: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.login(username, password)['access_token']}"}


@pytest.fixture
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("auth"),
        anonymous_role="",
        accounts_refresh_s=0.2,
        rate_limit_anonymous_per_hour=0,
        rate_limit_authenticated_per_hour=0,
        rate_limit_premium_per_hour=0,
    )
    runtime = Runtime(settings)
    service.create_user(runtime.store, "boss", ADMIN_PASSWORD, Role.ADMIN)
    service.create_user(runtime.store, "vera", VIEWER_PASSWORD, Role.VIEWER)
    with BackgroundServer(runtime) as server, httpx.Client(base_url=server.url) as client:
        yield Served(server, runtime, client)


def counter(client: httpx.Client, name: str, **labels: str) -> float:
    """One sample of a Prometheus counter on /metrics."""
    for family in text_string_to_metric_families(client.get("/metrics").text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    raise AssertionError(f"{name}{labels} not on /metrics")


def refused(r: httpx.Response, status: int, code: str) -> str:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["error"]["code"] == code
    assert body["request_id"] == r.headers["x-request-id"]
    return str(body["error"]["message"])


def test_anonymous_callers_may_only_sign_in(served: Served) -> None:
    c = served.client
    r = c.get("/api/segments")
    assert "sign in" in refused(r, 401, "unauthorized")
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert c.get("/health").status_code in (200, 503)
    assert c.get("/metrics").status_code == 200
    assert c.get("/auth/me").json() == {
        "kind": "anonymous",
        "username": None,
        "role": None,
        "tier": "standard",
    }
    refused(c.post("/api/traffic/events", json={}), 401, "unauthorized")


def test_every_bad_sign_in_gets_the_same_answer(served: Served) -> None:
    c = served.client
    before = counter(c, "trafficcast_auth_failures_total", reason="invalid_credentials")
    wrong = c.post("/auth/login", json={"username": "boss", "password": "not the password"})
    unknown = c.post("/auth/login", json={"username": "nobody", "password": ADMIN_PASSWORD})
    hostile = c.post("/auth/login", json={"username": "' OR 1=1 --", "password": "x"})
    messages = {refused(r, 401, "invalid_credentials") for r in (wrong, unknown, hostile)}
    assert len(messages) == 1
    after = counter(c, "trafficcast_auth_failures_total", reason="invalid_credentials")
    assert after - before == 3
    refused(c.post("/auth/login", json={"username": "boss"}), 422, "validation_error")
    refused(
        c.post("/auth/login", content=b"{", headers={"Content-Type": "application/json"}),
        422,
        "validation_error",
    )


def test_sign_in_refresh_and_sign_out(served: Served) -> None:
    c = served.client
    session = served.login("vera", VIEWER_PASSWORD)
    assert session["token_type"] == "bearer"
    assert session["expires_in"] == 15 * 60
    assert session["user"]["role"] == "viewer"  # type: ignore[index]
    access = {"Authorization": f"Bearer {session['access_token']}"}
    assert c.get("/auth/me", headers=access).json()["username"] == "vera"
    assert c.get("/api/segments", headers=access).status_code == 200
    # A refresh token is not an access token, nor the other way round.
    refused(
        c.get("/api/segments", headers={"Authorization": f"Bearer {session['refresh_token']}"}),
        401,
        "unauthorized",
    )
    refused(
        c.post("/auth/refresh", json={"refresh_token": session["access_token"]}),
        401,
        "invalid_credentials",
    )
    fresh = c.post("/auth/refresh", json={"refresh_token": session["refresh_token"]})
    assert fresh.status_code == 200
    new_access = {"Authorization": f"Bearer {fresh.json()['access_token']}"}
    assert c.get("/api/segments", headers=new_access).status_code == 200
    # Signing out ends every token of the user, old and new.
    assert c.post("/auth/logout", headers=new_access).status_code == 204
    for headers in (access, new_access):
        assert "revoked" in refused(c.get("/api/segments", headers=headers), 401, "unauthorized")
    refused(
        c.post("/auth/refresh", json={"refresh_token": session["refresh_token"]}),
        401,
        "invalid_credentials",
    )
    assert c.get("/api/segments", headers=served.bearer("vera", VIEWER_PASSWORD)).status_code == 200


def test_expired_tampered_and_foreign_tokens_are_refused(served: Served) -> None:
    c = served.client
    secret = service.token_secret(served.runtime.store, "")
    issuer = TokenIssuer(secret, 60, 3600)
    expired = issuer.issue("vera", 0, now=time.time() - 120).access_token
    assert "expired" in refused(
        c.get("/api/segments", headers={"Authorization": f"Bearer {expired}"}), 401, "unauthorized"
    )
    good = issuer.issue("vera", 0).access_token
    assert c.get("/api/segments", headers={"Authorization": f"Bearer {good}"}).status_code == 200
    header, payload, signature = good.split(".")
    claims = jwt.decode(good, options={"verify_signature": False})
    forged_payload = jwt.encode({**claims, "sub": "boss"}, "x" * 32, algorithm="HS256").split(".")[
        1
    ]
    unsigned = jwt.encode({**claims, "sub": "boss"}, None, algorithm="none")
    foreign = jwt.encode(
        {**claims, "sub": "boss"}, "another deployment's secret" * 2, algorithm="HS256"
    )
    for token in (
        f"{header}.{forged_payload}.{signature}",  # payload changed, signature kept
        f"{header}.{payload}.{signature[:-2]}AA",
        unsigned,
        foreign,
        "not-a-token",
        "a" * 5000,
    ):
        refused(
            c.get("/api/users", headers={"Authorization": f"Bearer {token}"}), 401, "unauthorized"
        )
    refused(
        c.get("/api/segments", headers={"Authorization": "Basic Ym9zczpwdw=="}), 401, "unauthorized"
    )
    assert counter(c, "trafficcast_auth_failures_total", reason="expired") == 1
    assert counter(c, "trafficcast_auth_failures_total", reason="invalid_token") >= 5


def test_disable_role_change_and_new_password_apply_at_once(served: Served) -> None:
    c = served.client
    admin = served.bearer("boss", ADMIN_PASSWORD)
    viewer = served.bearer("vera", VIEWER_PASSWORD)
    refused(c.get("/api/users", headers=viewer), 403, "forbidden")
    assert c.patch("/api/users/vera", json={"role": "admin"}, headers=admin).status_code == 200
    assert c.get("/api/users", headers=viewer).status_code == 200  # same token, new role
    assert c.patch("/api/users/vera", json={"disabled": True}, headers=admin).json()["disabled"]
    refused(c.get("/api/segments", headers=viewer), 401, "unauthorized")
    refused(
        c.post("/auth/login", json={"username": "vera", "password": VIEWER_PASSWORD}),
        401,
        "invalid_credentials",
    )
    assert c.patch("/api/users/vera", json={"disabled": False}, headers=admin).status_code == 200
    vera = served.bearer("vera", VIEWER_PASSWORD)
    new_password = "a brand new password"
    assert (
        c.patch("/api/users/vera", json={"password": new_password}, headers=admin).status_code
        == 200
    )
    refused(c.get("/api/segments", headers=vera), 401, "unauthorized")
    refused(
        c.post("/auth/login", json={"username": "vera", "password": VIEWER_PASSWORD}),
        401,
        "invalid_credentials",
    )
    assert served.login("vera", new_password)


def test_a_change_made_elsewhere_applies_within_the_refresh_interval(served: Served) -> None:
    c = served.client
    viewer = served.bearer("vera", VIEWER_PASSWORD)
    key, record = service.create_key(
        served.runtime.store, "elsewhere", Role.API, Tier.STANDARD, "cli"
    )
    # Written straight to the store, as the CLI or another API process would.
    service.update_user(served.runtime.store, "vera", disabled=True)
    deadline = time.monotonic() + 5
    while c.get("/api/segments", headers=viewer).status_code != 401:
        assert time.monotonic() < deadline, "the disable never reached this process"
        time.sleep(0.05)
    assert c.get("/api/segments", headers={"X-API-Key": key}).status_code == 200
    service.revoke_key(served.runtime.store, record.prefix)
    deadline = time.monotonic() + 5
    while c.get("/api/segments", headers={"X-API-Key": key}).status_code != 401:
        assert time.monotonic() < deadline, "the revocation never reached this process"
        time.sleep(0.05)


def test_api_keys_are_shown_once_listed_by_prefix_and_revocable(served: Served) -> None:
    c = served.client
    admin = served.bearer("boss", ADMIN_PASSWORD)
    made = c.post("/api/keys", json={"name": "district 8 feed"}, headers=admin)
    assert made.status_code == 201
    key, prefix = made.json()["key"], made.json()["prefix"]
    assert key.startswith(f"tck_{prefix}_")
    assert made.json()["role"] == "api"
    listed = c.get("/api/keys", headers=admin).json()["keys"]
    assert [k["prefix"] for k in listed] == [prefix]
    assert "key" not in listed[0]
    assert key not in c.get("/api/keys", headers=admin).text
    api = {"X-API-Key": key}
    assert c.get("/auth/me", headers=api).json() == {
        "kind": "api_key",
        "username": prefix,
        "role": "api",
        "tier": "standard",
    }
    event = {"segment_id": "s1", "timestamp": "2026-01-01T00:00:00Z", "speed": 50.0, "volume": 10}
    assert c.post("/api/traffic/events", json=event, headers=api).status_code == 201
    refused(c.get("/api/users", headers=api), 403, "forbidden")
    # The same key as a bearer token (clients that can only send one).
    assert c.get("/api/segments", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    refused(c.get("/api/segments", headers={"X-API-Key": key[:-3] + "AAA"}), 401, "unauthorized")
    refused(c.get("/api/segments", headers={"X-API-Key": "tck_nope"}), 401, "unauthorized")
    revoked = c.delete(f"/api/keys/{prefix}", headers=admin)
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"]
    assert "revoked" in refused(c.get("/api/segments", headers=api), 401, "unauthorized")
    refused(c.delete("/api/keys/ZZZZZZZZ", headers=admin), 404, "not_found")
    refused(c.delete("/api/keys/short", headers=admin), 422, "validation_error")
    refused(c.post("/api/keys", json={"name": " "}, headers=admin), 422, "validation_error")
    refused(
        c.post("/api/keys", json={"name": "x", "role": "root"}, headers=admin),
        422,
        "validation_error",
    )


def test_user_management_rules(served: Served) -> None:
    c = served.client
    admin = served.bearer("boss", ADMIN_PASSWORD)
    made = c.post(
        "/api/users",
        json={
            "username": "ana",
            "password": "analyst password",
            "role": "analyst",
            "tier": "premium",
        },
        headers=admin,
    )
    assert made.status_code == 201
    assert made.json()["tier"] == "premium"
    assert "password" not in made.text
    assert "argon2" not in c.get("/api/users", headers=admin).text
    refused(
        c.post(
            "/api/users",
            json={"username": "ana", "password": "analyst password", "role": "analyst"},
            headers=admin,
        ),
        409,
        "conflict",
    )
    problem = c.post(
        "/api/users",
        json={"username": "bad name!", "password": "long enough password", "role": "viewer"},
        headers=admin,
    )
    assert refused(problem, 422, "validation_error")
    assert problem.json()["error"]["details"][0]["field"] == "username"
    refused(
        c.post(
            "/api/users",
            json={"username": "x", "password": "p" * 300, "role": "viewer"},
            headers=admin,
        ),
        422,
        "validation_error",
    )
    refused(
        c.post(
            "/api/users",
            json={
                "username": "x",
                "password": "long enough password",
                "role": "viewer",
                "admin": True,
            },
            headers=admin,
        ),
        422,
        "validation_error",
    )
    refused(c.patch("/api/users/nobody", json={"role": "viewer"}, headers=admin), 404, "not_found")
    # The only admin cannot demote or disable themselves.
    assert "admin" in refused(
        c.patch("/api/users/boss", json={"role": "viewer"}, headers=admin), 409, "conflict"
    )
    refused(c.patch("/api/users/boss", json={"disabled": True}, headers=admin), 409, "conflict")
    assert c.patch("/api/users/ana", json={"role": "admin"}, headers=admin).status_code == 200
    assert (
        c.patch("/api/users/boss", json={"role": "viewer"}, headers=admin).json()["role"]
        == "viewer"
    )
    names = [
        u["username"]
        for u in c.get("/api/users", headers=served.bearer("ana", "analyst password")).json()[
            "users"
        ]
    ]
    assert names == ["ana", "boss", "vera"]


def test_websocket_needs_a_reader(served: Served) -> None:
    url = served.server.ws_url
    with pytest.raises(InvalidStatus) as no_token:
        connect(url).close()
    assert no_token.value.response.status_code == 403
    with pytest.raises(InvalidStatus):
        connect(url + "?access_token=forged").close()
    token = served.login("vera", VIEWER_PASSWORD)["access_token"]
    with connect(f"{url}?access_token={token}") as ws:
        ws.send('{"action": "subscribe", "segment_ids": ["s1"]}')
    key, _ = service.create_key(served.runtime.store, "ws", Role.API, Tier.STANDARD, "t")
    time.sleep(0.4)  # the account refresh picks the key up
    with connect(url, additional_headers={"X-API-Key": key}) as ws:
        ws.send('{"action": "subscribe", "segment_ids": ["s1"]}')


def test_an_open_websocket_closes_when_its_credentials_go(served: Served) -> None:
    c = served.client
    session = served.login("vera", VIEWER_PASSWORD)
    admin = served.bearer("boss", ADMIN_PASSWORD)
    made = c.post("/api/keys", json={"name": "stream"}, headers=admin).json()
    url = served.server.ws_url
    with (
        connect(f"{url}?access_token={session['access_token']}") as by_user,
        connect(url, additional_headers={"X-API-Key": made["key"]}) as by_key,
    ):
        for ws in (by_user, by_key):
            ws.send('{"action": "subscribe", "segment_ids": ["s1"]}')
            assert json.loads(ws.recv(timeout=5))["type"] == "subscribed"
        bearer = {"Authorization": f"Bearer {session['access_token']}"}
        assert c.post("/auth/logout", headers=bearer).status_code == 204
        assert c.delete(f"/api/keys/{made['prefix']}", headers=admin).status_code == 200
        for ws in (by_user, by_key):
            message = json.loads(ws.recv(timeout=5))
            assert message["error"]["code"] == "unauthorized"
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(timeout=5)
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 1008


def test_rate_limits_per_identity_class(tmp_path_factory: pytest.TempPathFactory) -> None:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("limits"),
        anonymous_role="viewer",
        rate_limit_anonymous_per_hour=3,
        rate_limit_authenticated_per_hour=5,
        rate_limit_premium_per_hour=8,
    )
    runtime = Runtime(settings)
    standard, _ = service.create_key(runtime.store, "standard", Role.API, Tier.STANDARD, "t")
    premium, _ = service.create_key(runtime.store, "premium", Role.API, Tier.PREMIUM, "t")
    with BackgroundServer(runtime) as server, httpx.Client(base_url=server.url) as c:
        # Bad credentials spend the address's anonymous budget: guessing is limited too.
        guess = c.get("/api/segments", headers={"X-API-Key": "tck_guess"})
        refused(guess, 401, "unauthorized")
        assert guess.headers["x-ratelimit-remaining"] == "2"
        anon = [c.get("/api/segments") for _ in range(3)]
        assert [r.status_code for r in anon] == [200, 200, 429]
        assert anon[0].headers["x-ratelimit-limit"] == "3"
        assert [r.headers["x-ratelimit-remaining"] for r in anon] == ["1", "0", "0"]
        assert int(anon[2].headers["retry-after"]) > 0
        refused(anon[2], 429, "rate_limited")
        refused(c.get("/api/segments", headers={"X-API-Key": "tck_guess"}), 429, "rate_limited")
        assert counter(c, "trafficcast_rate_limited_total", **{"class": "anonymous"}) == 2
        # Probes and the page shell are never counted.
        assert c.get("/health").status_code in (200, 503)
        assert "x-ratelimit-limit" not in c.get("/metrics").headers
        a = c.get("/api/segments", headers={"X-API-Key": standard})
        assert (
            a.status_code,
            a.headers["x-ratelimit-limit"],
            a.headers["x-ratelimit-remaining"],
        ) == (200, "5", "4")
        p = c.get("/api/segments", headers={"X-API-Key": premium})
        assert (p.headers["x-ratelimit-limit"], p.headers["x-ratelimit-remaining"]) == ("8", "7")
        statuses = [
            c.get("/api/segments", headers={"X-API-Key": standard}).status_code for _ in range(5)
        ]
        assert statuses == [200] * 4 + [429]
        # One key spent does not spend another's budget.
        assert c.get("/api/segments", headers={"X-API-Key": premium}).status_code == 200
