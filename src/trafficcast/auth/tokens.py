"""Access and refresh tokens: HS256 JWTs signed with the deployment's secret.

A token names its user and the user's token epoch; raising the epoch (sign
out, password change, disable) ends every token issued before it. The role is
not in the token: it is read from the account on every request, so a role
change applies at once rather than at the token's expiry.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Literal

import jwt

ISSUER = "trafficcast"
_ALGORITHM = "HS256"
TokenType = Literal["access", "refresh"]


class TokenError(Exception):
    """A token that is malformed, tampered with, expired or of the wrong type."""


@dataclass(frozen=True, slots=True)
class TokenClaims:
    username: str
    epoch: int
    expires_at: int


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    refresh_expires_in: int


class TokenIssuer:
    def __init__(self, secret: str, access_ttl_s: int, refresh_ttl_s: int) -> None:
        if len(secret) < 32:
            raise ValueError("the token secret must be at least 32 characters")
        self._secret = secret
        self.access_ttl_s = access_ttl_s
        self.refresh_ttl_s = refresh_ttl_s

    def issue(self, username: str, epoch: int, now: float | None = None) -> TokenPair:
        now = int(time.time() if now is None else now)
        return TokenPair(
            access_token=self._sign(username, epoch, "access", now, self.access_ttl_s),
            refresh_token=self._sign(username, epoch, "refresh", now, self.refresh_ttl_s),
            expires_in=self.access_ttl_s,
            refresh_expires_in=self.refresh_ttl_s,
        )

    def _sign(self, username: str, epoch: int, typ: TokenType, now: int, ttl: int) -> str:
        claims = {
            "iss": ISSUER,
            "sub": username,
            "typ": typ,
            "ep": epoch,
            "iat": now,
            "exp": now + ttl,
            "jti": secrets.token_urlsafe(8),
        }
        return jwt.encode(claims, self._secret, algorithm=_ALGORITHM)

    def verify(self, token: str, expected: TokenType) -> TokenClaims:
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[_ALGORITHM],  # never "none" nor whatever the header claims
                issuer=ISSUER,
                options={"require": ["exp", "iat", "sub", "iss"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise TokenError("token expired") from exc
        except jwt.PyJWTError as exc:
            raise TokenError("invalid token") from exc
        if claims.get("typ") != expected:
            raise TokenError(f"not an {expected} token")
        sub, epoch = claims.get("sub"), claims.get("ep")
        if not isinstance(sub, str) or not isinstance(epoch, int):
            raise TokenError("invalid token")
        return TokenClaims(sub, epoch, int(claims["exp"]))


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2
