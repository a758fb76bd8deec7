"""Detector health rules on hand-made day statistics."""

from __future__ import annotations

import pyarrow as pa

from trafficcast.quality.detector_health import DETECTOR_DAY_STATS_SCHEMA, HealthRules, assess

DAY = 86_400_000
MIN = 60_000


def stats(rows: list[tuple[str, int, int, int, int, int, int]]) -> pa.Table:
    return pa.Table.from_pylist(
        [dict(zip(DETECTOR_DAY_STATS_SCHEMA.names, r, strict=True)) for r in rows],
        schema=DETECTOR_DAY_STATS_SCHEMA,
    )


def test_each_reason_and_its_order() -> None:
    full = 2880  # a day of 30 s readings
    table = stats(
        [
            ("good", full, 40, 0, MIN, 0, DAY - 30_000),
            ("few", 1000, 40, 0, MIN, 0, DAY - 30_000),
            ("stuck", full, 1, 0, MIN, 0, DAY - 30_000),
            ("wild", full, 40, 400, MIN, 0, DAY - 30_000),
            ("gappy", 2500, 40, 0, 45 * MIN, 0, DAY - 30_000),
            ("late-start", 2000, 40, 0, MIN, 8 * 60 * MIN, DAY - 30_000),
            # Stuck and too few: too few is the reason given.
            ("stuck-few", 100, 1, 0, MIN, 0, DAY - 30_000),
        ]
    )
    ids = ["good", "few", "stuck", "wild", "gappy", "late-start", "stuck-few", "silent"]
    h = assess(ids, table, 0, DAY)
    assert h.expected == full
    assert dict(zip(ids, h.reason.tolist(), strict=True)) == {
        "good": "ok",
        "few": "insufficient_data",
        "stuck": "stuck",
        "wild": "implausible",
        "gappy": "intermittent",
        "late-start": "intermittent",  # 8 h before the first reading
        "stuck-few": "insufficient_data",
        "silent": "no_data",
    }
    assert h.status.tolist() == ["good"] + ["bad"] * 7
    assert h.share[0] == 1.0
    assert abs(h.share[1] - 1000 / full) < 1e-9
    assert h.samples[-1] == 0


def test_today_expects_only_the_time_passed() -> None:
    noon = DAY // 2
    table = stats([("a", 1440, 30, 0, MIN, 0, noon - 30_000)])
    h = assess(["a"], table, 0, noon, HealthRules(expected_interval_s=30))
    assert h.expected == 1440
    assert h.reason.tolist() == ["ok"]
    # At a 60 s interval the same readings are more than expected: the share caps at 1.
    h60 = assess(["a"], table, 0, noon, HealthRules(expected_interval_s=60))
    assert h60.share.tolist() == [1.0]


def test_statistics_of_unknown_detectors_are_ignored() -> None:
    table = stats([("not-in-catalog", 2880, 40, 0, MIN, 0, DAY - 30_000)])
    h = assess(["a"], table, 0, DAY)
    assert h.reason.tolist() == ["no_data"]
