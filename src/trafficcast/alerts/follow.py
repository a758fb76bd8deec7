"""The running processor's view of the stored alert rule.

Processors may run in other processes than the API that changes a rule (Kafka
mode), so each re-reads the rule from the store, at most once per interval and
only when windows close; an API process that runs the processor itself asks
for a re-read at once after a change (`invalidate`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from trafficcast.alerts.rules import CongestionRuleConfig

log = logging.getLogger(__name__)
_UNREAD = object()


class RuleFollower:
    def __init__(
        self,
        read: Callable[[], str | None],
        interval_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.read = read
        self.interval_s = interval_s
        self.clock = clock
        self.rule = CongestionRuleConfig()
        self._text: object = _UNREAD
        self._next = 0.0

    def invalidate(self) -> None:
        """Re-read at the next call (safe from any thread: one assignment)."""
        self._next = 0.0

    def poll(self) -> bool:
        """Re-read the stored rule if due; True when it changed (then see `rule`).

        A store that cannot be read, or a stored rule that is not valid, keeps the rule
        in force: alerting must not stop because a read failed.
        """
        now = self.clock()
        if now < self._next:
            return False
        self._next = now + self.interval_s
        try:
            text = self.read()
        except Exception as exc:  # the store is down: keep alerting on the current rule
            log.warning("could not read the alert rule; keeping the current one: %s", exc)
            return False
        if text == self._text:
            return False
        self._text = text
        try:
            rule = CongestionRuleConfig.loads(text)
        except (ValueError, KeyError, TypeError) as exc:
            log.error("the stored alert rule is not valid; keeping the current one: %s", exc)
            return False
        changed = rule != self.rule
        self.rule = rule
        return changed


def scope_mask(
    segment_ids: Sequence[str], index_of: Callable[[str], int | None], size: int
) -> npt.NDArray[np.bool_]:
    """Per catalog index: whether the segment is in the rule's scope."""
    mask = np.zeros(size, dtype=bool)
    found = [i for i in map(index_of, segment_ids) if i is not None and i < size]
    mask[np.asarray(found, dtype=np.int64)] = True
    return mask
