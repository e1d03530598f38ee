"""Running a query from the page: checked by :mod:`.guard`, stopped after a time, cut at a row limit.

Example::

    result = run_query(provider, "SELECT run, min(value) AS best FROM scalars GROUP BY run")
    result.columns  # [("run", "VARCHAR"), ("best", "DOUBLE")]
    result.rows[:1]  # [["lr=0.1", 0.021]]
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import duckdb

from stepscope.errors import UsageError
from stepscope.plugins.sql.guard import check_query, one_line
from stepscope.store.provider import DataProvider

#: Rows a query answers at most (the first ones, with a note).
MAX_ROWS = 10_000
#: Seconds a query may run before it is stopped.
TIMEOUT = 10.0


@dataclass(frozen=True)
class QueryResult:
    columns: list[tuple[str, str]]  # name, DuckDB type
    rows: list[tuple[Any, ...]]
    truncated: bool  # more rows than ``limit`` exist
    limit: int
    seconds: float


def run_query(
    data: DataProvider, sql: str, limit: int = 1000, timeout: float = TIMEOUT
) -> QueryResult:
    """The first ``limit`` rows of a read-only query over the index's views."""
    if not 1 <= limit <= MAX_ROWS:
        raise UsageError(f"limit must be between 1 and {MAX_ROWS:,}, not {limit}")
    cursor = data.index.cursor()
    try:
        check_query(cursor, sql)
        stopped = threading.Event()

        def stop() -> None:
            stopped.set()
            cursor.interrupt()

        timer = threading.Timer(timeout, stop)
        started = time.perf_counter()
        timer.start()
        try:
            result = cursor.execute(sql)
            rows = result.fetchmany(limit + 1)
            columns = [(str(d[0]), str(d[1])) for d in result.description or []]
        except duckdb.Error as error:
            if stopped.is_set():
                raise UsageError(
                    f"the query ran for more than {timeout:g} s and was stopped: narrow it "
                    "(a WHERE on run or tag) or add a LIMIT"
                ) from error
            raise UsageError(f"the query failed: {one_line(str(error))}") from error
        finally:
            timer.cancel()
        seconds = time.perf_counter() - started
    finally:
        cursor.close()
    return QueryResult(columns, rows[:limit], len(rows) > limit, limit, seconds)
