"""The scalars kind's own routes, at ``/api/plugins/scalars/`` (its series are the core's ``/api/scalars``)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from stepscope.plugins.scalars.read import (
    BINARY_GROUPS,
    RunGroup,
    chosen_groups,
    group_json,
    group_series,
    groups_binary,
)
from stepscope.store.provider import DataProvider

#: The most points a group's series may be asked for at once (as ``/api/scalars``).
MAX_POINTS = 100_000


class GroupBody(BaseModel):
    name: str = Field(min_length=1, max_length=1000)
    runs: list[str] = Field(max_length=100_000)


class GroupsQuery(BaseModel):
    """One tag's groups: given (``groups``), or made by a rule (``regex`` on names, or an ``hparam``)."""

    tag: str = Field(min_length=1, max_length=1000)
    groups: list[GroupBody] | None = Field(default=None, max_length=10_000)
    regex: str | None = Field(default=None, max_length=1000)
    hparam: str | None = Field(default=None, min_length=1, max_length=1000)
    band: Literal["minmax", "std"] = "minmax"
    max_points: int | None = Field(default=None, ge=1, le=MAX_POINTS)
    min_step: int | None = None
    max_step: int | None = None
    format: Literal["json", "binary"] = "json"


def routes(data: DataProvider) -> APIRouter:
    router = APIRouter()

    @router.post("/groups")
    def groups(query: GroupsQuery) -> Response:
        """Each group's mean and band over aligned steps (see :func:`group_series`).

        ``{"tag", "band", "groups": [{name, runs, total, step, wall_time, mean,
        lower, upper, min, max, std, count, present}]}``, in the order given
        (by name for a rule). ``lower``/``upper`` are the band: min and max, or
        the mean ± 1 std. A rule that matches no run answers no group.
        ``format=binary`` answers the same as columns (see :func:`groups_binary`).
        """
        given = (
            None
            if query.groups is None
            else [RunGroup(g.name, tuple(g.runs)) for g in query.groups]
        )
        wanted = chosen_groups(data, query.tag, given, query.regex, query.hparam)
        found = group_series(
            data, query.tag, wanted, query.band, query.max_points, query.min_step, query.max_step
        )
        headers = {"Cache-Control": "no-cache"}
        if query.format == "binary":
            return Response(
                groups_binary(query.tag, query.band, found),
                media_type=BINARY_GROUPS,
                headers=headers,
            )
        return JSONResponse(
            {"tag": query.tag, "band": query.band, "groups": [group_json(g) for g in found]},
            headers=headers,
        )

    return router
