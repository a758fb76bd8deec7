"""The log handler follows sys.stderr: a runner that swaps and closes it loses nothing."""

from __future__ import annotations

import io
import json
import logging

import pytest

from trafficcast.logging_setup import configure_logging


def test_records_go_to_the_current_stderr(monkeypatch: pytest.MonkeyPatch) -> None:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    try:
        first = io.StringIO()
        monkeypatch.setattr("sys.stderr", first)
        configure_logging("INFO")
        first.close()  # as a CLI runner does once its command returns
        second = io.StringIO()
        monkeypatch.setattr("sys.stderr", second)
        logging.getLogger("trafficcast.test").warning("later", extra={"event": "probe"})
        record = json.loads(second.getvalue())
        assert (record["event"], record["message"]) == ("probe", "later")
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
