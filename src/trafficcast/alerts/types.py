"""Every alert type the engine raises, by name (the API, the store and the dashboard's
filter use these strings)."""

from __future__ import annotations

from typing import Final

CONGESTION: Final = "congestion"
INCIDENT: Final = "incident"
PREDICTED_CONGESTION: Final = "predicted_congestion"
FORECAST_ACCURACY: Final = "forecast_accuracy"
SYSTEM: Final = "system"
ALERT_TYPES: Final = (CONGESTION, INCIDENT, PREDICTED_CONGESTION, FORECAST_ACCURACY, SYSTEM)
