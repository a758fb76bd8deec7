"""ErrorSums: sums of parts give the whole's MAE, RMSE and coverage, and travel as JSON."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest

from trafficcast.forecast import metrics
from trafficcast.forecast.error_sums import ErrorSums, total

STEPS = (1, 3, 6, 12)  # 5, 15, 30 and 60 minutes


def arrays(seed: int, rows: int = 200, segments: int = 13) -> tuple[np.ndarray, ...]:
    """(actual, predicted, lower, upper), (rows, segments, len(STEPS)), NaNs in each."""
    rng = np.random.default_rng(seed)
    shape = (rows, segments, len(STEPS))
    actual = rng.normal(55, 12, shape)
    predicted = (actual + rng.normal(0, 4, shape)).astype(np.float32)
    half = rng.uniform(1, 8, shape)
    lower, upper = predicted - half, predicted + half
    for a, share in ((actual, 0.1), (predicted, 0.05), (lower, 0.03), (upper, 0.03)):
        a[rng.random(shape) < share] = np.nan
    return actual, predicted, lower, upper


def expected(actual: np.ndarray, pred: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> dict:
    def by(f: object) -> dict[str, float]:
        return {str(h * 5): f(j) for j, h in enumerate(STEPS)}  # type: ignore[operator]

    return {
        "mae": by(lambda j: metrics.mae(actual[..., j], pred[..., j])),
        "rmse": by(lambda j: metrics.rmse(actual[..., j], pred[..., j])),
        "coverage": by(lambda j: metrics.coverage(actual[..., j], lo[..., j], hi[..., j])),
    }


def assert_scores_close(got: dict, want: dict) -> None:
    assert set(got) == set(want)
    for metric in want:
        assert set(got[metric]) == set(want[metric]), metric
        for h, v in want[metric].items():
            assert got[metric][h] == pytest.approx(v, rel=1e-12, abs=1e-12), (metric, h)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_two_halves_merged_score_as_the_whole(seed: int) -> None:
    actual, pred, lo, hi = arrays(seed)
    whole = expected(actual, pred, lo, hi)
    cut = 77  # unequal halves: a mean of the halves' MAEs would be wrong
    first = ErrorSums.of(actual[:cut], pred[:cut], STEPS, lo[:cut], hi[:cut])
    second = ErrorSums.of(actual[cut:], pred[cut:], STEPS, lo[cut:], hi[cut:])
    merged = first.merge(second)
    assert_scores_close(merged.scores(), whole)
    assert_scores_close(second.merge(first).scores(), whole)
    # The sums are of the whole, not only their ratios.
    ok = np.isfinite(actual) & np.isfinite(pred)
    assert merged.count == {h: int(ok[..., j].sum()) for j, h in enumerate(STEPS)}
    assert sum(merged.count.values()) < actual.size  # NaNs were left out
    assert ErrorSums.of(actual, pred, STEPS, lo, hi).count == merged.count


def test_groups_of_segments_merged_score_as_the_network() -> None:
    """Split by column, as segment groups are: uneven groups, total() over all of them."""
    actual, pred, lo, hi = arrays(5, segments=20)
    cuts = [0, 3, 4, 12, 20]
    parts = [
        ErrorSums.of(actual[:, a:b], pred[:, a:b], STEPS, lo[:, a:b], hi[:, a:b])
        for a, b in itertools.pairwise(cuts)
    ]
    assert_scores_close(total(parts).scores(), expected(actual, pred, lo, hi))
    mean_of_maes = np.mean([p.scores()["mae"]["5"] for p in parts])
    assert mean_of_maes != pytest.approx(total(parts).scores()["mae"]["5"], rel=1e-6)


def test_without_bands_there_is_no_coverage() -> None:
    actual, pred, _, _ = arrays(3)
    sums = ErrorSums.of(actual, pred, STEPS)
    assert set(sums.scores()) == {"mae", "rmse"}
    assert sums.covered == {}
    assert sums.banded == {}
    assert set(sums.to_json()) == {"abs_error", "sq_error", "count"}


def test_horizons_with_nothing_scored_are_left_out() -> None:
    actual, pred, lo, hi = arrays(4)
    actual[..., 1] = np.nan  # 15 minutes: no actuals
    pred[..., 3] = np.nan  # 60 minutes: no forecasts
    lo[..., 2] = np.nan  # 30 minutes: no bands
    sums = ErrorSums.of(actual, pred, STEPS, lo, hi)
    scores = sums.scores()
    assert set(scores["mae"]) == set(scores["rmse"]) == {"5", "30"}
    assert set(scores["coverage"]) == {"5", "60"}  # bands need actuals, not forecasts
    assert sums.count[3] == 0
    assert sums.banded[6] == 0
    # Strict JSON: no NaN anywhere.
    json.dumps(scores, allow_nan=False)
    json.dumps(sums.to_json(), allow_nan=False)
    # Another part that did score 15 minutes brings the horizon back.
    other = ErrorSums.of(*arrays(9)[:2], STEPS)
    assert "15" in sums.merge(other).scores()["mae"]
    assert sums.merge(other).scores()["mae"]["15"] == pytest.approx(other.scores()["mae"]["15"])


def test_nothing_scored_at_all() -> None:
    nan = np.full((4, 2, len(STEPS)), np.nan)
    sums = ErrorSums.of(nan, nan, STEPS, nan, nan)
    assert sums.scores() == {"mae": {}, "rmse": {}, "coverage": {}}
    assert ErrorSums().scores() == {"mae": {}, "rmse": {}}


def test_merge_adds_horizons_either_side_has() -> None:
    a = ErrorSums({1: 2.0}, {1: 4.0}, {1: 1})
    b = ErrorSums({2: 6.0}, {2: 20.0}, {2: 2})
    merged = a.merge(b)
    assert merged.mae() == {1: 2.0, 2: 3.0}
    assert merged.scores()["rmse"] == {"5": 2.0, "10": math.sqrt(10.0)}
    assert a.mae() == {1: 2.0}  # merge leaves its inputs alone


def test_json_round_trip() -> None:
    actual, pred, lo, hi = arrays(6)
    sums = ErrorSums.of(actual, pred, STEPS, lo, hi)
    text = json.dumps(sums.to_json(), allow_nan=False)
    back = ErrorSums.from_json(json.loads(text))
    assert back == sums
    assert back.scores() == sums.scores()
    assert all(isinstance(h, int) for h in back.count)
    assert all(isinstance(v, int) for v in back.count.values())
    assert all(isinstance(v, float) for v in back.abs_error.values())
    no_bands = ErrorSums.of(actual, pred, STEPS)
    assert ErrorSums.from_json(json.loads(json.dumps(no_bands.to_json()))) == no_bands
    assert ErrorSums.from_json({}) == ErrorSums()


def test_total_of_nothing_is_empty() -> None:
    empty = total([])
    assert empty == ErrorSums()
    assert empty.scores() == {"mae": {}, "rmse": {}}
    assert empty.to_json() == {}
    one = ErrorSums.of(*arrays(7)[:2], STEPS)
    assert total([one]) == one


@pytest.mark.parametrize(
    ("data", "named"),
    [
        (None, "an object"),
        ([], "an object"),
        ({"count": [1, 2]}, "count"),
        ({"count": None}, "count"),
        ({"count": {"five": 1}}, "count"),
        ({"count": {"1": "many"}}, r"count\[1\]"),
        ({"count": {"1": None}}, r"count\[1\]"),
        ({"abs_error": {"1": True}}, r"abs_error\[1\]"),
        ({"mae": {"5": 1.0}}, "unknown field 'mae'"),  # a name ErrorSums does not have
        ({"count": {"1": 3}}, "abs_error, sq_error, count"),  # counts without their sums
        ({"abs_error": {"1": 3.0}, "sq_error": {"1": 9.0}, "count": {"2": 1}}, "different"),
        ({"covered": {"1": 3}}, "covered, banded"),
    ],
)
def test_malformed_json_is_refused_naming_the_field(data: object, named: str) -> None:
    with pytest.raises(ValueError, match=named):
        ErrorSums.from_json(data)  # type: ignore[arg-type]
