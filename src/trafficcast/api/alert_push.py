"""Alert records out to every dashboard (the WebSocket "alert" messages).

Shared by whatever changes alerts inside an API process (operator actions, the
system monitor): through Kafka to every API process when there are several, else
straight to this process's subscribers.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from trafficcast.bus.kafka import KafkaBus
from trafficcast.live.messages import table_messages
from trafficcast.runtime import Runtime


def push_alerts(runtime: Runtime, table: pa.Table) -> None:
    """Push alert records (ALERT_RECORD_SCHEMA rows) to the dashboards."""
    if table.num_rows == 0:
        return
    # Alerts without a segment (system alerts) go to dashboards subscribed to all.
    keyed = table.set_column(
        table.schema.get_field_index("segment_id"),
        "segment_id",
        pc.fill_null(table.column("segment_id"), ""),
    )
    messages = table_messages("alert", keyed)
    if runtime.role == "api" and isinstance(runtime.bus, KafkaBus):
        runtime.bus.publish_messages("alert", messages)
    else:
        runtime.hub.publish_threadsafe(messages)
