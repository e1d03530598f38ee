"""The query box's route, at ``/api/plugins/sql/``."""

from __future__ import annotations

import csv
import io
from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from stepscope.plugins.sql.read import MAX_ROWS, QueryResult, run_query
from stepscope.server.jsonable import plain
from stepscope.store.provider import DataProvider


class Query(BaseModel):
    sql: str = Field(min_length=1, max_length=20_000)
    limit: int = Field(default=1000, ge=1, le=MAX_ROWS)
    format: Literal["json", "csv"] = "json"


def routes(data: DataProvider) -> APIRouter:
    # The second wall behind the guard: from now on no query of this index can
    # open a file, a URL or an extension, whoever serves it.
    data.forbid_external_access()
    router = APIRouter()

    @router.post("/query")
    def query(body: Query) -> Response:
        """One read-only SELECT over the index's views: the first ``limit`` rows.

        JSON: ``{"columns": [{"name", "type"}], "rows": [[...]], "truncated",
        "limit", "seconds", "note"}``; ``format=csv`` answers the rows as CSV.
        A refused or failing query is a 400 whose message says why.
        """
        result = run_query(data, body.sql, body.limit)
        if body.format == "csv":
            return Response(
                result_csv(result),
                media_type="text/csv; charset=utf-8",
                headers={"Content-Disposition": 'attachment; filename="query.csv"'},
            )
        return JSONResponse(result_json(result), headers={"Cache-Control": "no-store"})

    return router


def result_json(result: QueryResult) -> dict[str, Any]:
    note = (
        f"Showing the first {result.limit:,} rows; the query has more. "
        "Add a LIMIT or an aggregate to see what you need."
        if result.truncated
        else None
    )
    return {
        "columns": [{"name": name, "type": kind} for name, kind in result.columns],
        "rows": [plain(list(row)) for row in result.rows],
        "truncated": result.truncated,
        "limit": result.limit,
        "seconds": result.seconds,
        "note": note,
    }


def result_csv(result: QueryResult) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([name for name, _ in result.columns])
    for row in result.rows:
        writer.writerow(["" if v is None else plain(v) for v in row])
    return out.getvalue()
