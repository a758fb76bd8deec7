"""Event-time tumbling windows with watermark and allowed lateness (stream/windowing.py)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from trafficcast.stream.windowing import NO_WATERMARK, FoldResult, TumblingWindows, WindowResults

MIN = 60_000
T0 = 1_705_305_600_000  # a whole 5-minute boundary (2024-01-15T08:00Z)
NAN = float("nan")


@dataclass
class Batch:
    segment: list[int]
    ts: list[int]
    speed: list[float]
    volume: list[float] | None = None
    occupancy: list[float] | None = None
    quality: list[float] | None = None


def fold(w: TumblingWindows, b: Batch, limit_ms: int | None = None) -> FoldResult:
    n = len(b.ts)
    return w.fold(
        np.asarray(b.segment, dtype=np.int64),
        np.asarray(b.ts, dtype=np.int64),
        np.asarray(b.speed, dtype=np.float64),
        np.asarray(b.volume if b.volume is not None else [NAN] * n, dtype=np.float64),
        np.asarray(b.occupancy if b.occupancy is not None else [NAN] * n, dtype=np.float64),
        np.asarray(b.quality if b.quality is not None else [1.0] * n, dtype=np.float64),
        limit_ms,
    )


def events(segment: int, ts: list[int], speed: list[float], **kw: list[float]) -> Batch:
    return Batch([segment] * len(ts), ts, speed, **kw)


def rows(results: WindowResults) -> dict[tuple[int, int], dict[str, float]]:
    """(segment, window_start) -> aggregates, for easy lookup."""
    out = {}
    for i in range(len(results)):
        out[(int(results.segment[i]), int(results.window_start_ms[i]))] = {
            "count": int(results.count[i]),
            "mean_speed": float(results.mean_speed[i]),
            "harmonic_mean_speed": float(results.harmonic_mean_speed[i]),
            "volume": float(results.volume[i]),
            "occupancy": float(results.occupancy[i]),
            "quality": float(results.quality[i]),
            "first_emission": bool(results.first_emission[i]),
            "window_end": int(results.window_end_ms[i]),
        }
    return out


def test_window_ms_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        TumblingWindows(0, 0)


def test_aggregates_of_one_window() -> None:
    w = TumblingWindows(5 * MIN, allowed_lateness_ms=0)
    fold(
        w,
        events(
            3,
            [T0, T0 + MIN, T0 + 2 * MIN, T0 + 4 * MIN + 59_999],
            [60.0, 30.0, 0.0, 20.0],
            volume=[10, NAN, 5, 1],
            occupancy=[10, 20, NAN, 30],
            quality=[1.0, 0.5, 0.5, 0.0],
        ),
    )
    result = rows(w.flush())
    assert list(result) == [(3, T0)]
    r = result[(3, T0)]
    assert r["count"] == 4
    assert r["mean_speed"] == pytest.approx((60 + 30 + 0 + 20) / 4)
    # Harmonic mean over the positive speeds only (a 0 mph reading would make it 0).
    assert r["harmonic_mean_speed"] == pytest.approx(3 / (1 / 60 + 1 / 30 + 1 / 20))
    assert r["volume"] == pytest.approx(16.0)  # total, missing values skipped
    assert r["occupancy"] == pytest.approx(20.0)  # mean of the present values
    assert r["quality"] == pytest.approx(0.5)
    assert r["first_emission"] is True
    assert r["window_end"] == T0 + 5 * MIN


def test_window_without_volume_or_occupancy_gives_nan_and_all_zero_speed() -> None:
    w = TumblingWindows(MIN, 0)
    fold(w, events(0, [T0, T0 + 1], [0.0, 0.0]))
    r = rows(w.flush())[(0, T0)]
    assert np.isnan(r["volume"])
    assert np.isnan(r["occupancy"])
    assert r["mean_speed"] == 0.0
    assert r["harmonic_mean_speed"] == 0.0
    assert r["count"] == 2


def test_event_at_boundary_belongs_to_window_starting_there() -> None:
    w = TumblingWindows(5 * MIN, 0)
    r = fold(w, events(1, [T0 + 5 * MIN - 1, T0 + 5 * MIN, T0 + 10 * MIN], [10.0, 20.0, 30.0]))
    # Watermark T0+10min: the two earlier windows closed within this fold.
    assert set(rows(r.results)) == {(1, T0), (1, T0 + 5 * MIN)}
    result = _last_emissions([r.results, w.flush()])
    assert result[(1, T0)]["count"] == 1
    assert result[(1, T0)]["mean_speed"] == 10.0
    assert result[(1, T0 + 5 * MIN)]["count"] == 1
    assert result[(1, T0 + 5 * MIN)]["mean_speed"] == 20.0
    assert result[(1, T0 + 10 * MIN)]["mean_speed"] == 30.0


def test_emitted_only_when_watermark_passes_end() -> None:
    w = TumblingWindows(MIN, 0)
    assert w.watermark_ms == NO_WATERMARK
    r = fold(w, events(0, [T0, T0 + 30_000], [50.0, 40.0]))
    assert len(r.results) == 0
    assert w.watermark_ms == T0 + 30_000
    r = fold(w, events(0, [T0 + MIN - 1], [45.0]))
    assert len(r.results) == 0  # watermark one ms before the end
    r = fold(w, events(0, [T0 + MIN], [70.0]))  # watermark reaches the end: closed
    out = rows(r.results)
    assert list(out) == [(0, T0)]
    assert out[(0, T0)]["count"] == 3
    assert out[(0, T0)]["mean_speed"] == pytest.approx(45.0)
    # Nothing more until the next window closes.
    assert len(fold(w, events(0, [T0 + MIN + 5], [70.0])).results) == 0
    assert list(rows(w.flush())) == [(0, T0 + MIN)]


def test_watermark_delay_holds_windows_back() -> None:
    w = TumblingWindows(MIN, allowed_lateness_ms=0, watermark_delay_ms=30_000)
    fold(w, events(0, [T0], [50.0]))
    r = fold(w, events(0, [T0 + MIN + 29_999], [50.0]))
    assert w.watermark_ms == T0 + MIN - 1
    assert len(r.results) == 0
    r = fold(w, events(0, [T0 + MIN + 30_000], [50.0]))
    assert [int(s) for s in r.results.window_start_ms] == [T0]


def test_watermark_delay_also_lets_later_events_in() -> None:
    # The delay shifts the watermark back, so an event older than the newest
    # by less than the delay still lands in its window before it closes.
    w = TumblingWindows(MIN, allowed_lateness_ms=0, watermark_delay_ms=MIN)
    fold(w, events(0, [T0 + 90_000], [50.0]))
    r = fold(w, events(0, [T0 + 10_000], [10.0]))
    assert not r.too_late.any()
    out = rows(w.flush())
    assert out[(0, T0)]["mean_speed"] == 10.0


def test_late_event_within_lateness_updates_and_reemits() -> None:
    w = TumblingWindows(MIN, allowed_lateness_ms=2 * MIN)
    fold(w, events(0, [T0, T0 + 10], [40.0, 60.0]))
    first = rows(fold(w, events(0, [T0 + MIN], [99.0])).results)
    assert first[(0, T0)]["mean_speed"] == 50.0
    assert first[(0, T0)]["first_emission"] is True

    late = fold(w, events(0, [T0 + 20_000], [20.0]))
    assert not late.too_late.any()
    again = rows(late.results)
    assert list(again) == [(0, T0)]
    assert again[(0, T0)]["count"] == 3
    assert again[(0, T0)]["mean_speed"] == pytest.approx(40.0)
    assert again[(0, T0)]["first_emission"] is False


def test_event_after_lateness_is_too_late_and_changes_nothing() -> None:
    w = TumblingWindows(MIN, allowed_lateness_ms=MIN)
    fold(w, events(0, [T0], [40.0]))
    emitted = rows(fold(w, events(0, [T0 + 2 * MIN], [80.0])).results)
    assert emitted[(0, T0)]["mean_speed"] == 40.0
    # Window [T0, T0+1min) expired: end + lateness <= watermark.
    r = fold(w, events(0, [T0 + 59_999, T0 + 2 * MIN + 1], [1.0, 70.0]))
    assert r.too_late.tolist() == [True, False]
    assert len(r.results) == 0
    final = rows(w.flush())
    assert (0, T0) not in final
    assert final[(0, T0 + 2 * MIN)]["count"] == 2
    assert final[(0, T0 + 2 * MIN)]["mean_speed"] == pytest.approx(75.0)


def test_lateness_boundary_is_exclusive() -> None:
    w = TumblingWindows(MIN, allowed_lateness_ms=MIN)
    fold(w, events(0, [T0], [40.0]))
    fold(w, events(0, [T0 + 2 * MIN - 1], [50.0]))  # watermark 1 ms short of expiry
    r = fold(w, events(0, [T0 + 1], [60.0]))
    assert r.too_late.tolist() == [False]
    assert rows(r.results)[(0, T0)]["count"] == 2
    fold(w, events(0, [T0 + 2 * MIN], [50.0]))  # now exactly at expiry
    assert fold(w, events(0, [T0 + 2], [60.0])).too_late.tolist() == [True]


def _last_emissions(all_results: list[WindowResults]) -> dict[tuple[int, int], dict[str, float]]:
    final: dict[tuple[int, int], dict[str, float]] = {}
    for results in all_results:
        for key, value in rows(results).items():
            value = dict(value)
            value.pop("first_emission")
            final[key] = value
    return final


def test_out_of_order_within_lateness_matches_sorted_input() -> None:
    rng = np.random.default_rng(20240115)
    n = 3000
    seg = rng.integers(0, 7, n)
    ts = T0 + np.sort(rng.integers(0, 40 * MIN, n))
    speed = rng.uniform(0, 80, n)
    speed[rng.random(n) < 0.05] = 0.0
    volume = np.where(rng.random(n) < 0.2, NAN, rng.integers(0, 30, n))
    occupancy = np.where(rng.random(n) < 0.2, NAN, rng.uniform(0, 100, n))
    quality = rng.uniform(0, 1, n)

    def run(order: np.ndarray, chunk: int) -> dict[tuple[int, int], dict[str, float]]:
        w = TumblingWindows(5 * MIN, allowed_lateness_ms=60 * MIN)
        emitted = []
        for start in range(0, n, chunk):
            idx = order[start : start + chunk]
            r = w.fold(seg[idx], ts[idx], speed[idx], volume[idx], occupancy[idx], quality[idx])
            assert not r.too_late.any()
            emitted.append(r.results)
        emitted.append(w.flush())
        return _last_emissions(emitted)

    sorted_final = run(np.arange(n), 100)
    shuffled_final = run(rng.permutation(n), 100)
    assert sorted_final.keys() == shuffled_final.keys()
    assert len(sorted_final) == 7 * 8
    for key, expected in sorted_final.items():
        got = shuffled_final[key]
        assert got["count"] == expected["count"]
        for name in ("mean_speed", "harmonic_mean_speed", "volume", "occupancy", "quality"):
            np.testing.assert_allclose(got[name], expected[name], rtol=1e-9, err_msg=name)

    # And the sorted result is right: check one window against a direct computation.
    seg_id, start = next(iter(sorted_final))
    sel = (seg == seg_id) & (ts >= start) & (ts < start + 5 * MIN)
    assert sorted_final[(seg_id, start)]["count"] == sel.sum()
    assert sorted_final[(seg_id, start)]["mean_speed"] == pytest.approx(speed[sel].mean())
    assert sorted_final[(seg_id, start)]["volume"] == pytest.approx(np.nansum(volume[sel]))


def test_flush_emits_everything_and_forgets() -> None:
    w = TumblingWindows(MIN, allowed_lateness_ms=10 * MIN)
    r = fold(w, Batch([0, 1, 0, 2], [T0, T0, T0 + MIN, T0 + 3 * MIN], [1.0, 2.0, 3.0, 4.0]))
    assert set(rows(r.results)) == {(0, T0), (1, T0), (0, T0 + MIN)}
    closed = rows(fold(w, events(0, [T0 + 5 * MIN], [5.0])).results)
    assert set(closed) == {(2, T0 + 3 * MIN)}
    flushed = rows(w.flush())
    # Only windows not yet emitted (or changed since) come out; closed ones are not repeated.
    assert set(flushed) == {(0, T0 + 5 * MIN)}
    assert flushed[(0, T0 + 5 * MIN)]["first_emission"] is True
    assert w.open_windows == 0
    assert len(w.flush()) == 0
    # The stream counts as complete up to the flush: a new event there is too late,
    # so no window can be emitted as new a second time.
    late = fold(w, events(0, [T0 + 5 * MIN + 1], [9.0]))
    assert late.too_late.tolist() == [True]
    assert len(late.results) == 0


def test_several_segments_are_kept_apart() -> None:
    w = TumblingWindows(MIN, 0)
    fold(
        w,
        Batch(
            [0, 1, 2, 1, 0, 2],
            [T0, T0 + 1, T0 + 2, T0 + 3, T0 + 4, T0 + 5],
            [10.0, 20.0, 30.0, 40.0, 50.0, 60.0],
            volume=[1, 2, 3, 4, 5, 6],
        ),
    )
    out = rows(w.flush())
    assert out[(0, T0)]["mean_speed"] == 30.0
    assert out[(1, T0)]["mean_speed"] == 30.0
    assert out[(2, T0)]["mean_speed"] == 45.0
    assert out[(0, T0)]["volume"] == 6.0
    assert out[(1, T0)]["volume"] == 6.0
    assert out[(2, T0)]["volume"] == 9.0
    assert all(r["count"] == 2 for r in out.values())


def test_large_segment_ids_do_not_collide_with_window_keys() -> None:
    w = TumblingWindows(MIN, 0)
    big = (1 << 24) - 1
    r = fold(w, Batch([0, big, big], [T0, T0, T0 + MIN], [10.0, 20.0, 30.0]))
    out = _last_emissions([r.results, w.flush()])
    assert set(out) == {(0, T0), (big, T0), (big, T0 + MIN)}
    assert out[(big, T0)]["mean_speed"] == 20.0


def test_batch_spanning_many_windows_judges_each_event_at_arrival() -> None:
    w = TumblingWindows(MIN, allowed_lateness_ms=MIN)
    # One batch: an old event first, then events moving the watermark far ahead,
    # then an event for the first window again.
    r = fold(
        w,
        events(0, [T0, T0 + 30 * MIN, T0 + 10, T0 + 31 * MIN], [10.0, 20.0, 30.0, 40.0]),
    )
    # The first event arrived with no watermark: on time, even though a later
    # event of the same batch would make it late. The third arrived after the
    # watermark had jumped: too late.
    assert r.too_late.tolist() == [False, False, True, False]
    out = rows(r.results)
    assert out[(0, T0)]["count"] == 1
    assert out[(0, T0)]["mean_speed"] == 10.0
    assert out[(0, T0 + 30 * MIN)]["count"] == 1
    assert w.watermark_ms == T0 + 31 * MIN


def test_batch_with_prior_watermark_and_many_windows() -> None:
    w = TumblingWindows(MIN, allowed_lateness_ms=2 * MIN)
    fold(w, events(0, [T0 + 10 * MIN], [50.0]))
    ts = [T0 + 8 * MIN + 1, T0 + 20 * MIN, T0 + 9 * MIN, T0 + 19 * MIN, T0 + 17 * MIN]
    r = fold(w, events(0, ts, [1.0, 2.0, 3.0, 4.0, 5.0]))
    # 1st: window [8,9) expires at 11 > watermark 10: on time.
    # 3rd: watermark now 20, window [9,10) expired at 12: too late.
    # 4th: window [19,20) expires at 22: on time. 5th: [17,18) expired at 20: too late.
    assert r.too_late.tolist() == [False, False, True, False, True]
    out = _last_emissions([r.results, w.flush()])
    assert out[(0, T0 + 8 * MIN)]["mean_speed"] == 1.0
    assert out[(0, T0 + 19 * MIN)]["mean_speed"] == 4.0
    assert (0, T0 + 9 * MIN) not in out
    assert (0, T0 + 17 * MIN) not in out


def test_state_is_dropped_after_lateness() -> None:
    w = TumblingWindows(MIN, allowed_lateness_ms=MIN)
    for i in range(20):
        fold(w, events(0, [T0 + i * MIN], [50.0]))
    # Only windows whose end + lateness is still ahead of the watermark remain.
    assert w.open_windows <= 2


def test_restore_watermark_makes_old_events_too_late() -> None:
    w = TumblingWindows(MIN, allowed_lateness_ms=MIN)
    w.restore_watermark(T0 + 10 * MIN)
    assert w.watermark_ms == T0 + 10 * MIN
    w.restore_watermark(T0)  # never moves back
    assert w.watermark_ms == T0 + 10 * MIN
    r = fold(w, events(0, [T0, T0 + 10 * MIN], [1.0, 2.0]))
    assert r.too_late.tolist() == [True, False]


def test_empty_fold_is_harmless() -> None:
    w = TumblingWindows(MIN, 0)
    r = fold(w, Batch([], [], []))
    assert len(r.results) == 0
    assert len(r.too_late) == 0
    assert w.watermark_ms == NO_WATERMARK


def test_a_held_back_clock_keeps_a_slower_input_on_time() -> None:
    # Two inputs (Kafka partitions) read at different speeds: segment 1 is 20 minutes
    # ahead. Held at segment 2's newest event, segment 2's next events are not late.
    w = TumblingWindows(5 * MIN, allowed_lateness_ms=5 * MIN)
    ahead = fold(w, events(1, [T0 + 20 * MIN], [50.0]), limit_ms=T0)
    assert len(ahead.results) == 0
    assert w.watermark_ms == T0
    behind = fold(w, events(2, [T0 + MIN, T0 + 6 * MIN], [40.0, 41.0]), limit_ms=T0 + 6 * MIN)
    assert not behind.too_late.any()
    first = rows(behind.results)
    assert set(first) == {(2, T0)}  # closed by segment 2's own progress
    assert (first[(2, T0)]["count"], first[(2, T0)]["mean_speed"]) == (1, 40.0)
    assert w.watermark_ms == T0 + 6 * MIN
    # Caught up: the clock moves to the newest event seen and closes what it passed.
    closed = rows(w.advance(None))
    assert set(closed) == {(2, T0 + 5 * MIN)}
    assert w.watermark_ms == T0 + 20 * MIN
    assert len(w.advance(None)) == 0  # nothing more to close


def test_without_a_limit_the_faster_input_makes_the_slower_late() -> None:
    w = TumblingWindows(5 * MIN, allowed_lateness_ms=5 * MIN)
    fold(w, events(1, [T0 + 20 * MIN], [50.0]))
    assert fold(w, events(2, [T0 + MIN], [40.0])).too_late.all()
