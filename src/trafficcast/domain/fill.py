"""How a window's values came about (PRODUCT.md §7a): observed, imputed (and how), missing.

The stream fills the 5-minute windows of silent detectors (stream/gap_fill.py); every
stored and served window says which it is, and so does every forecast of the input it
was made from.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from trafficcast.domain.schema import STORED_PREDICTION_SCHEMA, STORED_WINDOW_SCHEMA

OBSERVED = "observed"
IMPUTED_NEIGHBOURS = "imputed_neighbours"
IMPUTED_PROFILE = "imputed_profile"
MISSING = "missing"
# Codes are indexes into this tuple (int8 columns in the stream, strings when stored).
FILL_KINDS = (OBSERVED, IMPUTED_NEIGHBOURS, IMPUTED_PROFILE, MISSING)


def stored_windows(windows: pa.Table) -> pa.Table:
    """`windows` in STORED_WINDOW_SCHEMA; a table without `fill` (written by a tool that
    does not fill) is observed where a window had readings and missing where it had none."""
    if "fill" not in windows.column_names:
        had = pc.greater(windows.column("count"), 0).fill_null(False)
        fill = pc.if_else(had, OBSERVED, MISSING)
        windows = windows.append_column("fill", fill)
    return windows.select(STORED_WINDOW_SCHEMA.names).cast(STORED_WINDOW_SCHEMA)


def stored_predictions(predictions: pa.Table) -> pa.Table:
    """`predictions` in STORED_PREDICTION_SCHEMA; without `input_fill`, not recorded (null)."""
    if "input_fill" not in predictions.column_names:
        predictions = predictions.append_column(
            "input_fill", pa.nulls(predictions.num_rows, pa.string())
        )
    return predictions.select(STORED_PREDICTION_SCHEMA.names).cast(STORED_PREDICTION_SCHEMA)


def fill_codes(names: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Fill names as their int32 codes (null stays null)."""
    return pc.index_in(names, value_set=pa.array(FILL_KINDS, pa.string())).cast(pa.int32())


def fill_names(codes: npt.NDArray[np.int8]) -> pa.Array:
    """Fill codes as their names (a string column), without a Python object per row."""
    dictionary = pa.DictionaryArray.from_arrays(
        pa.array(codes, pa.int8()), pa.array(FILL_KINDS, pa.string())
    )
    return dictionary.dictionary_decode()
