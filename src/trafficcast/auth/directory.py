"""The accounts an API process checks credentials against, held in memory.

Checking a credential must not cost a database round trip per request (1 000
requests/s on two cores), so users and keys are read whole and re-read every
few seconds; a change made through this process applies at once (reload), one
made elsewhere (another process, the CLI) within the refresh interval. If the
store is down, the last accounts read stay in force.
"""

from __future__ import annotations

import logging

from trafficcast.auth.accounts import ApiKeyRecord, UserRecord
from trafficcast.store.base import Store, StoreUnavailable

log = logging.getLogger(__name__)


class AccountDirectory:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._users: dict[str, UserRecord] = {}
        self._keys: dict[str, ApiKeyRecord] = {}
        self.loaded = False

    def reload(self) -> None:
        users = {u.username: u for u in self._store.users()}
        keys = {k.prefix: k for k in self._store.api_keys()}
        # Two assignments of whole dicts: readers on other threads see old or new, never half.
        self._users, self._keys = users, keys
        self.loaded = True

    def try_reload(self) -> bool:
        try:
            self.reload()
        except StoreUnavailable as exc:
            log.warning("accounts not refreshed, keeping the last ones read: %s", exc)
            return False
        return True

    def user(self, username: str) -> UserRecord | None:
        return self._users.get(username)

    def key(self, prefix: str) -> ApiKeyRecord | None:
        return self._keys.get(prefix)
