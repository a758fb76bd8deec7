"""Turn what a request presents (a bearer token, an API key, nothing) into a Principal."""

from __future__ import annotations

import time

from trafficcast.auth import api_keys
from trafficcast.auth.directory import AccountDirectory
from trafficcast.auth.roles import Principal, Role
from trafficcast.auth.tokens import TokenClaims, TokenError, TokenIssuer


class CredentialError(Exception):
    """Credentials were presented and are not good; `reason` is safe to show the client."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# Verifying an HS256 signature costs ~25 µs in PyJWT, a quarter of a cached read's
# server time; a token string seen before is the same signed bytes, so its claims are
# remembered until it expires (the account checks below still run on every request).
_VERIFIED_MAX = 10_000


class Authenticator:
    def __init__(
        self, directory: AccountDirectory, issuer: TokenIssuer, anonymous_role: Role | None
    ) -> None:
        self.directory = directory
        self.issuer = issuer
        self.anonymous_role = anonymous_role
        self._verified: dict[str, TokenClaims] = {}

    def _claims(self, token: str) -> TokenClaims:
        claims = self._verified.get(token)
        if claims is not None and claims.expires_at > time.time():
            return claims
        try:
            claims = self.issuer.verify(token, "access")
        except TokenError as exc:
            self._verified.pop(token, None)
            raise CredentialError(str(exc)) from exc
        if len(self._verified) >= _VERIFIED_MAX:
            self._verified.clear()  # simple bound; live tokens are re-verified once
        self._verified[token] = claims
        return claims

    def anonymous(self, client: str) -> Principal:
        return Principal("anonymous", client, self.anonymous_role)

    def bearer(self, token: str) -> Principal:
        # Some clients can only send a bearer token; an API key is accepted there too.
        if token.startswith(api_keys.KEY_PREFIX):
            return self.api_key(token)
        claims = self._claims(token)
        user = self.directory.user(claims.username)
        if user is None or user.disabled or user.token_epoch != claims.epoch:
            raise CredentialError("token revoked")
        return Principal("user", user.username, user.role, user.tier, claims.epoch)

    def api_key(self, key: str) -> Principal:
        prefix = api_keys.prefix_of(key)
        record = self.directory.key(prefix) if prefix else None
        if record is None or not api_keys.matches(key, record.key_hash):
            raise CredentialError("invalid API key")
        if not record.active:
            raise CredentialError("API key revoked")
        return Principal("api_key", record.prefix, record.role, record.tier)

    def still_valid(self, p: Principal) -> bool:
        """Whether credentials accepted earlier still stand (for long-lived connections):
        the user is enabled and has not signed out or changed password since; the key
        is not revoked. Token expiry alone does not end a connection already open."""
        if p.kind == "user":
            user = self.directory.user(p.subject)
            return user is not None and not user.disabled and user.token_epoch == p.token_epoch
        if p.kind == "api_key":
            record = self.directory.key(p.subject)
            return record is not None and record.active
        return True
