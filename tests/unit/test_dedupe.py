"""Recent event-id memory (stream/dedupe.py)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from trafficcast.stream.dedupe import RecentIds, hash_ids

MIN = 60_000
T0 = 1_705_305_600_000


def ids(*values: str) -> pa.Array:
    return pa.array(list(values), type=pa.string())


def test_hash_ids_is_deterministic_and_distinguishes_ids() -> None:
    a = hash_ids(ids("a", "b", "a", "c"))
    assert a.dtype == np.uint64
    assert a[0] == a[2]
    assert len({int(a[0]), int(a[1]), int(a[3])}) == 3
    np.testing.assert_array_equal(hash_ids(ids("a", "b", "a", "c")), a)


def test_hash_ids_accepts_chunked_arrays() -> None:
    chunked = pa.chunked_array([["x", "y"], ["z"]])
    np.testing.assert_array_equal(hash_ids(chunked), hash_ids(ids("x", "y", "z")))


def test_hash_ids_many_distinct_ids_do_not_collide() -> None:
    values = [f"replay:los-loop/{i}/{T0 + i}" for i in range(50_000)]
    assert len(np.unique(hash_ids(pa.array(values)))) == 50_000


def test_duplicates_within_one_call() -> None:
    recent = RecentIds(horizon_ms=10 * MIN)
    is_new = recent.admit(hash_ids(ids("a", "b", "a", "c", "b", "a")), T0)
    assert is_new.tolist() == [True, True, False, True, False, False]
    assert len(recent) == 3


def test_duplicates_across_calls() -> None:
    recent = RecentIds(horizon_ms=10 * MIN)
    assert recent.admit(hash_ids(ids("a", "b")), T0).tolist() == [True, True]
    assert recent.admit(hash_ids(ids("b", "c", "a", "c")), T0 + MIN).tolist() == [
        False,
        True,
        False,
        False,
    ]
    assert recent.admit(hash_ids(ids("c", "d")), T0 + 2 * MIN).tolist() == [False, True]
    assert len(recent) == 4


def test_empty_call() -> None:
    recent = RecentIds(horizon_ms=MIN)
    out = recent.admit(np.zeros(0, dtype=np.uint64), T0)
    assert out.dtype == bool
    assert len(out) == 0
    assert len(recent) == 0


def test_ids_are_remembered_within_the_horizon() -> None:
    recent = RecentIds(horizon_ms=10 * MIN)
    recent.admit(hash_ids(ids("a")), T0)
    assert recent.admit(hash_ids(ids("a")), T0 + 10 * MIN).tolist() == [False]


def test_ids_are_forgotten_after_the_horizon() -> None:
    recent = RecentIds(horizon_ms=10 * MIN)
    start = T0 - T0 % recent.bucket_ms  # at the start of a bucket
    recent.admit(hash_ids(ids("a", "b")), start)
    recent.admit(hash_ids(ids("c")), start + 5 * MIN)
    # Ids are kept for the horizon plus at most one bucket (a quarter of it).
    out = recent.admit(hash_ids(ids("a", "c", "b")), start + 10 * MIN + recent.bucket_ms)
    assert out.tolist() == [True, False, True]
    # Re-admitted ids are remembered again from now on.
    assert recent.admit(hash_ids(ids("a", "b")), start + 13 * MIN).tolist() == [False, False]


def test_memory_is_bounded_by_the_horizon() -> None:
    recent = RecentIds(horizon_ms=5 * MIN)
    for step in range(30):
        recent.admit(hash_ids(pa.array([f"{step}-{i}" for i in range(100)])), T0 + step * MIN)
    # Only a few minutes' worth of ids is held (merged chunks may keep a little more).
    assert len(recent) <= 100 * 12
    assert len(recent) >= 100 * 5


def test_hash_tables_keep_correctness_over_many_calls_and_growth() -> None:
    rng = np.random.default_rng(11)
    recent = RecentIds(horizon_ms=10**12)  # nothing expires: every id is remembered
    seen: set[str] = set()
    for call in range(50):
        fresh = [f"id-{call}-{i}" for i in range(int(rng.integers(1, 40)))]
        old = list(rng.choice(sorted(seen), size=min(len(seen), 15), replace=False)) if seen else []
        batch = fresh + old + fresh[:3]  # some in-call repeats too
        order = rng.permutation(len(batch))
        values = [batch[i] for i in order]
        is_new = recent.admit(hash_ids(pa.array(values, type=pa.string())), T0 + call * 1000)
        expected = []
        seen_in_call: set[str] = set()
        for v in values:
            expected.append(v not in seen and v not in seen_in_call)
            seen_in_call.add(v)
        assert is_new.tolist() == expected, f"call {call}"
        seen |= seen_in_call
        assert recent.buckets == 1
    assert len(recent) == len(seen)
    # Every id from every call is still recognised after all the merging.
    everything = pa.array(sorted(seen), type=pa.string())
    assert not recent.admit(hash_ids(everything), T0 + 60_000).any()


def test_old_buckets_expire() -> None:
    recent = RecentIds(horizon_ms=10_000)
    for call in range(20):
        recent.admit(hash_ids(pa.array([f"old-{call}"])), T0 + call)
    assert len(recent) == 20
    # Far past the horizon, everything old is forgotten.
    out = recent.admit(hash_ids(pa.array(["old-0", "old-19", "new"])), T0 + 10 * MIN)
    assert out.tolist() == [True, True, True]
    assert len(recent) == 3


def test_first_occurrence_in_a_call_is_the_new_one() -> None:
    recent = RecentIds(horizon_ms=MIN)
    keys = np.array([5, 5, 5, 7, 7, 9], dtype=np.uint64)
    assert recent.admit(keys, T0).tolist() == [True, False, False, True, False, True]


def test_large_batches_with_collisions_and_growth() -> None:
    rng = np.random.default_rng(3)
    recent = RecentIds(horizon_ms=10**12)
    # Small key range: many keys share table slots, and the tables grow several times.
    keys = rng.integers(1, 200_000, 300_000).astype(np.uint64)
    is_new = recent.admit(keys, T0)
    _, first = np.unique(keys, return_index=True)
    expected = np.zeros(len(keys), dtype=bool)
    expected[first] = True
    np.testing.assert_array_equal(is_new, expected)
    again = recent.admit(rng.permutation(keys), T0 + 1)
    assert not again.any()


def test_keep_from_extends_memory_to_the_end_of_a_long_batch() -> None:
    recent = RecentIds(horizon_ms=10 * MIN)
    start = T0 - T0 % recent.bucket_ms
    # A batch arriving at `start` whose events run 40 minutes ahead.
    recent.admit(hash_ids(ids("a")), start, keep_from_ms=start + 40 * MIN)
    assert recent.admit(hash_ids(ids("a")), start + 45 * MIN).tolist() == [False]
    # Without keep_from the id is gone by then.
    other = RecentIds(horizon_ms=10 * MIN)
    other.admit(hash_ids(ids("a")), start)
    assert other.admit(hash_ids(ids("a")), start + 45 * MIN).tolist() == [True]
