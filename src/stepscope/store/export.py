"""Exporting scalars to CSV, Parquet or JSON Lines (``stepscope export``), written by DuckDB."""

from __future__ import annotations

import os
import sys
import tempfile

import pandas as pd

from stepscope.store.provider import DataProvider

_FORMATS = {
    "csv": "(FORMAT csv, HEADER true)",
    "parquet": "(FORMAT parquet)",
    "json": "(FORMAT json)",
}


def export_scalars(
    data: DataProvider, format_: str, output: str | None, series: list[tuple[str, str]]
) -> int:
    """Write these ``(run, tag)`` scalar series (run, tag, step, wall_time, value) to ``output`` (None: stdout).

    Returns how many points were written.
    """
    cursor = data.index.cursor()
    cursor.register("_wanted", pd.DataFrame(series, columns=["run", "tag"]))
    # JSON has no NaN or Infinity: there a non-finite value is written as null.
    value = "CASE WHEN isfinite(value) THEN value END AS value" if format_ == "json" else "value"
    query = (
        f"SELECT run, tag, step, wall_time, {value} FROM scalars "
        "SEMI JOIN _wanted USING (run, tag) ORDER BY run, tag, step"
    )
    (count,) = cursor.execute(f"SELECT count(*) FROM ({query})").fetchone() or (0,)
    if output is not None:
        target = os.path.abspath(output)
        cursor.execute(f"COPY ({query}) TO '{_quoted(target)}' {_FORMATS[format_]}")
        return int(count)
    # To stdout: through a temporary file, so Python's stdout (a pipe, a
    # terminal, a captured stream) gets the bytes in order.
    with tempfile.TemporaryDirectory(prefix="stepscope-export-") as scratch:
        target = os.path.join(scratch, f"out.{format_}")
        cursor.execute(f"COPY ({query}) TO '{_quoted(target)}' {_FORMATS[format_]}")
        with open(target, "rb") as f:
            out = sys.stdout.buffer
            while block := f.read(1 << 20):
                out.write(block)
            out.flush()
    return int(count)


def _quoted(path: str) -> str:
    return path.replace("'", "''")
