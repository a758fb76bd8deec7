"""Time query parameters: ISO 8601 only.

pydantic's datetime also takes a bare number as an epoch, guessing seconds or
milliseconds from its size ("1700000000" and "1700000000000" are the same
instant, "-1" is 1969). A client that means one and gets the other sees
quietly wrong data, so numbers are refused with a 422 naming the parameter;
the OpenAPI schema (format date-time) then says what is accepted. Instants
outside years 1-9999 in UTC are refused as well.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator

_NUMBER = re.compile(r"\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*")


def _iso_only(value: object) -> object:
    if isinstance(value, int | float) or (isinstance(value, str) and _NUMBER.fullmatch(value)):
        raise ValueError(
            "use an ISO 8601 date or time such as 2026-01-05T08:00:00Z, not an epoch number"
        )
    return value


def _within_years(value: datetime) -> datetime:
    # 9999-12-31T23:59:59-05:00 is year 10 000 in UTC: past what ISO 8601 (and the
    # responses' format date-time) can write, so it is refused here, not echoed.
    offset = value.utcoffset()
    try:
        if offset is not None:
            _ = value - offset  # OverflowError outside years 1-9999
    except OverflowError:
        raise ValueError("outside years 1-9999 in UTC") from None
    return value


IsoDateTime = Annotated[datetime, BeforeValidator(_iso_only), AfterValidator(_within_years)]
"""A date or date-time in ISO 8601; without a zone it is UTC, a date is its UTC midnight."""
