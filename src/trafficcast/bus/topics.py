"""The Kafka topics trafficcast uses, and their creation (idempotent).

Run as `python -m trafficcast.bus.topics --bootstrap HOST:PORT` (the Kafka
start script does) or implicitly by any process that connects to the bus.
"""

from __future__ import annotations

import argparse
import logging

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

log = logging.getLogger(__name__)
# librdkafka's own messages (connection failures, retries) go through logging, not stderr.
CLIENT_LOG = logging.getLogger("trafficcast.kafka.client")

EVENTS = "traffic-events"
DEAD_LETTERS = "traffic-events-dlq"
AGGREGATES = "traffic-aggregates"
PREDICTIONS = "traffic-predictions"
ALERTS = "traffic-alerts"
# Coalesced live readings (at most one per segment per second) for WebSocket fan-out.
LIVE_READINGS = "traffic-live"

# Window results, forecasts, alerts and readings fan out to every API process.
LIVE_TOPICS = {
    "window": AGGREGATES,
    "prediction": PREDICTIONS,
    "alert": ALERTS,
    "traffic_event": LIVE_READINGS,
}
ALL_TOPICS = (EVENTS, DEAD_LETTERS, AGGREGATES, PREDICTIONS, ALERTS, LIVE_READINGS)


def ensure_topics(bootstrap: str, partitions: int, timeout_s: float = 30.0) -> list[str]:
    """Create the topics that do not exist yet; returns the names created."""
    # The typed stubs only list string settings; librdkafka takes a logging.Logger here.
    admin = AdminClient({"bootstrap.servers": bootstrap, "logger": CLIENT_LOG})  # type: ignore[dict-item]
    existing = set(admin.list_topics(timeout=timeout_s).topics)
    missing = [t for t in ALL_TOPICS if t not in existing]
    if not missing:
        return []
    # The dead-letter topic is read by people, not processors: one partition keeps it in order.
    futures = admin.create_topics(
        [
            NewTopic(t, num_partitions=1 if t == DEAD_LETTERS else partitions, replication_factor=1)
            for t in missing
        ],
        operation_timeout=timeout_s,
    )
    created = []
    for name, future in futures.items():
        try:
            future.result(timeout_s)
            created.append(name)
        except KafkaException as exc:
            if exc.args[0].name() != "TOPIC_ALREADY_EXISTS":  # another process raced us
                raise
    return created


def main() -> None:
    parser = argparse.ArgumentParser(description="Create trafficcast's Kafka topics")
    parser.add_argument("--bootstrap", required=True, help="HOST:PORT of a broker")
    parser.add_argument("--partitions", type=int, default=4)
    args = parser.parse_args()
    created = ensure_topics(args.bootstrap, args.partitions)
    print("created: " + (", ".join(created) if created else "nothing (all exist)"))


if __name__ == "__main__":
    main()
