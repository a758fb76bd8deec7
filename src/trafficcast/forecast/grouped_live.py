"""A grouped model serving the stream: each live segment forecast by its group's member.

Live catalog columns are matched to members by segment id; a member forecasts its
columns from their history alone, with the links among them only, just as it was
trained (grouped_training.py), so a group's features never read another group.
A segment no member was trained on goes to the largest member, whose model was
trained to forecast segments without a profile (features.PROFILE_FEATURES).
"""

from __future__ import annotations

import threading

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from trafficcast.forecast.forecasts import Forecasts
from trafficcast.forecast.grouped_model import GroupedModel
from trafficcast.forecast.history import RecentHistory
from trafficcast.forecast.intervals import confidence
from trafficcast.forecast.live import LiveModel
from trafficcast.forecast.live_scoring import ScoredBands

_FIELDS = (
    "speed",
    "speed_lower",
    "speed_upper",
    "volume",
    "volume_lower",
    "volume_upper",
    "confidence",
)


class GroupedLiveModel:
    def __init__(self, model: GroupedModel, version: str, timezone: str) -> None:
        self.model = model
        self.version = version
        self.timezone = timezone
        self.members = [LiveModel(m, version, timezone) for m in model.members]
        self._default = int(np.argmax([len(m.segment_ids) for m in model.members]))
        self._labels: npt.NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        self._lock = threading.Lock()

    def labels(self, segment_ids: pa.Array) -> npt.NDArray[np.int64]:
        """The member of each live column (cached; the catalog only ever grows)."""
        with self._lock:
            if len(self._labels) != len(segment_ids):
                labels = np.full(len(segment_ids), self._default, dtype=np.int64)
                for g, member in enumerate(self.model.members):
                    found = pc.is_in(segment_ids, value_set=member.segment_ids)
                    labels[np.asarray(found.to_numpy(zero_copy_only=False), dtype=bool)] = g
                self._labels = labels
            return self._labels

    def adapt(self, scored: list[ScoredBands]) -> None:
        """Each member's bands follow the misses of its own segments."""
        labels = self._labels
        for b in scored:
            known = b.segment < len(labels)
            owner = np.where(known, labels[np.where(known, b.segment, 0)], -1)
            for g, member in enumerate(self.members):
                mine = owner == g
                if mine.any():
                    member.adapt(
                        [
                            ScoredBands(
                                b.model_version,
                                b.horizon_min,
                                b.quantity,
                                b.actual[mine],
                                b.lower[mine],
                                b.upper[mine],
                                b.segment[mine],
                            )
                        ]
                    )

    def forecast(
        self,
        history: RecentHistory,
        segment: npt.NDArray[np.int64],
        issued_ms: int,
        horizons_min: npt.NDArray[np.int64],
        segment_ids: pa.Array,
        links: pa.Table,
        links_version: int = 0,
    ) -> Forecasts:
        """As LiveModel.forecast, each segment by its group's member."""
        n_cols = min(history.size, len(segment_ids))
        labels = self.labels(segment_ids.slice(0, n_cols))
        shape = (len(segment), len(horizons_min))
        out = {name: np.full(shape, np.nan) for name in _FIELDS}
        known = segment < n_cols
        owner = np.where(known, labels[np.where(known, segment, 0)] if n_cols else -1, -1)
        for g, member in enumerate(self.members):
            rows = np.flatnonzero(owner == g)
            if len(rows) == 0:
                continue
            columns = np.flatnonzero(labels == g).astype(np.int64)
            position = np.full(n_cols, -1, dtype=np.int64)
            position[columns] = np.arange(len(columns), dtype=np.int64)
            part = member.forecast(
                history.select(columns),
                position[segment[rows]],
                issued_ms,
                horizons_min,
                segment_ids.take(pa.array(columns)),
                links,  # Graph.from_links keeps the links among these columns only
                links_version,
            )
            for name in _FIELDS:
                out[name][rows] = getattr(part, name)
        # As LiveModel: where no member forecast, the confidence of nothing is 0.
        out["confidence"] = np.where(
            np.isfinite(out["confidence"]),
            out["confidence"],
            confidence(out["speed"], out["speed_lower"], out["speed_upper"]),
        )
        return Forecasts(
            segment=segment,
            issued_ms=issued_ms,
            horizons_min=horizons_min,
            target_ms=np.broadcast_to(issued_ms + horizons_min * 60_000, shape).copy(),
            model_version=self.version,
            **out,
        )
