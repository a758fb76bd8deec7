"""trafficcast: live road-sensor ingest, stream aggregation, forecasts and a live map."""

__version__ = "0.1.0"
