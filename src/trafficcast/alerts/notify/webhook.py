"""Delivering a notification to a webhook: one signed JSON POST per try."""

from __future__ import annotations

import httpx

from trafficcast.alerts.notify import payload
from trafficcast.alerts.notify.retry import Outcome

# Worth another try: the receiver is overloaded, restarting or rate limiting us.
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


def post(
    client: httpx.Client, url: str, body: bytes, secret: str, event: str, now_s: int
) -> Outcome:
    """One POST. Any 2xx delivers; redirects are not followed (a webhook URL that
    moved should be updated in the rule, not chased with a signed body)."""
    try:
        r = client.post(url, content=body, headers=payload.headers(secret, now_s, body, event))
    except httpx.TimeoutException as exc:
        return Outcome(False, None, f"timeout: {exc or type(exc).__name__}", retry=True)
    except httpx.HTTPError as exc:
        return Outcome(False, None, f"{type(exc).__name__}: {exc}", retry=True)
    if r.is_success:
        return Outcome(True, r.status_code)
    retry = r.status_code in RETRY_STATUSES
    return Outcome(False, r.status_code, f"HTTP {r.status_code}: {r.text[:200]}", retry=retry)
