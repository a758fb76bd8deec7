"""The running processor's (and the notifier's) view of the stored alert rules.

Processors may run in other processes than the API that changes a rule (Kafka
mode), so each re-reads the rule from the store, at most once per interval and
only when windows close; an API process that runs the processor itself asks
for a re-read at once after a change (`invalidate`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

import numpy as np
import numpy.typing as npt

from trafficcast.alerts.rules import CongestionRuleConfig, RuleConfig, state_key

log = logging.getLogger(__name__)
_UNREAD = object()
R = TypeVar("R", bound=RuleConfig)


class Follower(Generic[R]):
    """One rule type's stored rule (its default until one is stored)."""

    def __init__(
        self,
        config: type[R],
        read: Callable[[], str | None],
        interval_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.read = read
        self.interval_s = interval_s
        self.clock = clock
        self.rule: R = config.loads(None)
        self.stored = False  # whether `rule` was read from the store (else the default)
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
            rule = self.config.loads(text)
        except (ValueError, KeyError, TypeError) as exc:
            log.error(
                "the stored %s rule is not valid; keeping the current one: %s",
                self.config.rule_id,
                exc,
            )
            return False
        changed = rule != self.rule or self.stored != (text is not None)
        self.rule = rule
        self.stored = text is not None
        return changed


class RuleFollower(Follower[CongestionRuleConfig]):
    """The congestion rule's follower."""

    def __init__(
        self,
        read: Callable[[], str | None],
        interval_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(CongestionRuleConfig, read, interval_s, clock)


class RuleBook:
    """A follower per registered rule type (alerts/registry.py), read by state key."""

    def __init__(
        self,
        rules: dict[str, type[RuleConfig]],
        read_state: Callable[[str], str | None],
        interval_s: float = 1.0,
    ) -> None:
        def reader(rule_id: str) -> Callable[[], str | None]:
            return lambda: read_state(state_key(rule_id))

        self.followers: dict[str, Follower[RuleConfig]] = {
            rule_id: Follower(config, reader(rule_id), interval_s=interval_s)
            for rule_id, config in rules.items()
        }
        self._by_type = {config.alert_type: rule_id for rule_id, config in rules.items()}

    def rule(self, rule_id: str) -> RuleConfig:
        follower = self.followers[rule_id]
        follower.poll()
        return follower.rule

    def for_alert_type(self, alert_type: str) -> RuleConfig | None:
        """The rule that raises alerts of this type (None: no rule, no notifications)."""
        rule_id = self._by_type.get(alert_type)
        return None if rule_id is None else self.rule(rule_id)

    def invalidate(self) -> None:
        for follower in self.followers.values():
            follower.invalidate()


def scope_mask(
    segment_ids: Sequence[str], index_of: Callable[[str], int | None], size: int
) -> npt.NDArray[np.bool_]:
    """Per catalog index: whether the segment is in the rule's scope."""
    mask = np.zeros(size, dtype=bool)
    found = [i for i in map(index_of, segment_ids) if i is not None and i < size]
    mask[np.asarray(found, dtype=np.int64)] = True
    return mask
