"""The dashboard's HTTP app: the web page and a JSON API over the data interface.

Every route reads through :class:`~stepscope.store.provider.DataProvider`.
Errors have one JSON shape, ``{"error": {"status": 404, "message": "..."}}``;
a malformed parameter is a 400 that names it. JSON responses are gzipped.
Floats that JSON cannot hold (NaN, +-Infinity) are sent as the strings
``"NaN"``, ``"Infinity"`` and ``"-Infinity"`` (``Number(s)`` in JavaScript
reads them), so a divergence is shown rather than dropped. The page asks for
scalars in a binary columnar form instead (see :func:`columns_binary`),
which costs neither side a parse.

``/api/events`` pushes the follower's state (server-sent events) whenever
the index changes, so the page refreshes within a second of a writer's flush.

When the server listens beyond the loopback interface it requires a token
(``?token=...`` once, then a cookie; or ``Authorization: token ...``), as
Jupyter does.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import os
import struct
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.datastructures import URL
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES
from starlette.responses import FileResponse, HTMLResponse, StreamingResponse
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from stepscope import __version__
from stepscope.errors import NotFoundError, StepscopeError, UsageError
from stepscope.plugins.registry import Registry, load_plugins
from stepscope.server.data_routes import data_routes
from stepscope.server.jsonable import json_number
from stepscope.server.plugin_host import PluginErrorMiddleware, mount_plugins
from stepscope.store.provider import DataProvider, ScalarSeries

#: The most points one series may be asked for at once.
MAX_POINTS = 100_000
#: The media type of :func:`columns_binary`.
BINARY_COLUMNS = "application/vnd.stepscope.columns"
#: The media type of ``POST /api/scalars/batch``: length-prefixed frames.
BINARY_FRAMES = "application/vnd.stepscope.frames"
_COOKIE = "stepscope_token"
_MAGIC = b"SSC2"
_FLOAT32_MAX = float(np.finfo(np.float32).max)
# Content-Security-Policy of the page: its own scripts only, nothing remote, no plugins.
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'none'"
)


class ScalarsQuery(BaseModel):
    """One tag for many runs; the page's form of ``GET /api/scalars`` (a run list can be long)."""

    tag: str = Field(min_length=1, max_length=1000)
    runs: list[str] | None = Field(default=None, max_length=100_000)
    max_points: int | None = Field(default=None, ge=1, le=MAX_POINTS)
    min_step: int | None = None
    max_step: int | None = None
    format: Literal["json", "binary"] = "json"


class ScalarsBatch(BaseModel):
    """Many scalar queries at once (``format`` is ignored: the answer is binary frames)."""

    queries: list[ScalarsQuery] = Field(min_length=1, max_length=1000)


def web_dist() -> Path | None:
    """Where the built web app is (``stepscope/web/dist``), or None if it was not built.

    ``STEPSCOPE_WEB_DIST`` names another build (for working on the page:
    ``npx vite build --outDir DIR``).
    """
    override = os.environ.get("STEPSCOPE_WEB_DIST")
    found = Path(override) if override else Path(str(resources.files("stepscope"))) / "web" / "dist"
    return found if (found / "index.html").is_file() else None


def create_app(
    data: DataProvider,
    *,
    token: str | None = None,
    window_title: str = "stepscope",
    status: Callable[[], dict[str, Any]] | None = None,
    web: Path | None = None,
    events_interval: float = 0.25,
    stopping: Callable[[], bool] | None = None,
    plugins: Registry | None = None,
    echo: Callable[[str], None] | None = None,
) -> FastAPI:
    """The app. ``status()`` (optional) returns the follower's state; ``web`` the built page.

    ``stopping()`` (optional) says that the server is shutting down: event
    streams then end, so that Ctrl-C does not wait on open pages.
    ``plugins`` are the dashboard's kinds (by default those of the
    ``stepscope.plugins`` entry points); ``echo`` hears of a plugin that
    fails (by default, standard error).
    """
    registry = plugins if plugins is not None else load_plugins()
    tell = echo if echo is not None else _to_stderr
    app = FastAPI(
        title="stepscope",
        version=__version__,
        description="The dashboard's data: runs, tags and series of a logdir, read through the index.",
        docs_url="/api/docs",
        openapi_url="/api/openapi.json",
        redoc_url=None,
    )
    # Innermost of the middleware (added first): a plugin's failure becomes its own 500.
    app.add_middleware(PluginErrorMiddleware, echo=tell)
    app.add_middleware(
        GZipMiddleware,
        minimum_size=1024,
        compresslevel=5,
        exclude_content_types=(
            *DEFAULT_EXCLUDED_CONTENT_TYPES,
            BINARY_COLUMNS,
            BINARY_FRAMES,
            *(kind for plugin in registry.plugins for kind in plugin.uncompressed),
        ),
    )
    if token is not None:
        app.add_middleware(TokenMiddleware, token=token)

    def state() -> dict[str, Any]:
        found: dict[str, Any] = dict(status()) if status is not None else {"loading": False}
        found["generation"] = data.index.generation
        return found

    @app.exception_handler(StepscopeError)
    async def _known(request: Request, error: StepscopeError) -> JSONResponse:
        return _error(error.http_status, str(error))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> JSONResponse:
        # Unknown routes (404), wrong methods (405), missing static files: the same shape.
        message = error.detail if isinstance(error.detail, str) else "request refused"
        if error.status_code == 404 and message == "Not Found":
            message = f"nothing here: {request.url.path}"
        response = _error(error.status_code, message)
        if error.headers:
            response.headers.update(error.headers)
        return response

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        first = error.errors()[0] if error.errors() else {}
        location = [str(part) for part in first.get("loc", ())]
        where = ".".join(location[1:]) or (location[0] if location else "request")
        reason = first.get("msg", "invalid value")
        return _error(400, f"bad parameter {where!r}: {reason}")

    @app.get("/api/environment")
    def environment() -> dict[str, Any]:
        """What the page needs to start: the title and the version."""
        return {"window_title": window_title, "version": __version__}

    @app.get("/api/status")
    def follower_status() -> dict[str, Any]:
        """How the reading of the logdir goes (loading, last update, error, index generation)."""
        return state()

    @app.get("/api/events")
    async def events(request: Request) -> StreamingResponse:
        """Server-sent events: a ``state`` event (as ``/api/status``) whenever it changes."""

        async def stream() -> AsyncIterator[str]:
            last: Any = None
            quiet = 0.0
            while not (stopping is not None and stopping()) and not await request.is_disconnected():
                current = state()
                key = (current.get("generation"), current.get("error"), current.get("loading"))
                if key != last:
                    last, quiet = key, 0.0
                    yield f"event: state\ndata: {json.dumps(current)}\n\n"
                elif quiet >= 15:
                    quiet = 0.0
                    yield ": still here\n\n"
                await asyncio.sleep(events_interval)
                quiet += events_interval

        return StreamingResponse(
            stream(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    @app.get("/api/runs")
    def runs() -> list[dict[str, Any]]:
        """Every run, with how much of it was read and what went wrong (one line per file)."""
        return [
            {
                "name": run.name,
                "events": run.events,
                "corrupt_records": run.corrupt_records,
                "problems": run.problems,
            }
            for run in data.runs()
        ]

    @app.get("/api/tags")
    def tags(
        plugin: Annotated[str | None, Query(max_length=200)] = None,
        points: bool = False,
    ) -> dict[str, dict[str, Any]]:
        """Tags per run (of one plugin if given) with their metadata; ``points=true`` counts them."""
        found: dict[str, dict[str, Any]] = {}
        for tag in data.tags(plugin, count_points=points):
            entry: dict[str, Any] = {
                "plugin": tag.plugin,
                "display_name": tag.info.display_name,
                "description": tag.info.description,
            }
            if points:
                entry["points"] = tag.points
            found.setdefault(tag.run, {})[tag.tag] = entry
        return found

    @app.get("/api/scalars")
    def scalars(
        tag: Annotated[str, Query(min_length=1, max_length=1000)],
        run: Annotated[list[str] | None, Query(max_length=10_000)] = None,
        max_points: Annotated[int | None, Query(ge=1, le=MAX_POINTS)] = None,
        min_step: int | None = None,
        max_step: int | None = None,
        format: Literal["json", "binary"] = "json",
    ) -> Response:
        """One tag for many runs (all runs that have it, if none is named), as columns.

        ``max_points`` downsamples each series without hiding a spike;
        ``min_step``/``max_step`` cut it to a step range first (a zoomed chart).
        ``format=binary`` answers in the form of :func:`columns_binary`.
        """
        query = ScalarsQuery(
            tag=tag,
            runs=run,
            max_points=max_points,
            min_step=min_step,
            max_step=max_step,
            format=format,
        )
        return _scalars(data, query)

    @app.post("/api/scalars")
    def scalars_post(query: ScalarsQuery) -> Response:
        """As ``GET /api/scalars``, with the query in a JSON body (for long run lists)."""
        return _scalars(data, query)

    @app.post("/api/scalars/batch")
    def scalars_batch(batch: ScalarsBatch) -> StreamingResponse:
        """Many queries in one request, answered as a stream of frames as each is ready.

        Each frame is a little-endian uint32 length and then either a
        :func:`columns_binary` block (``SSC2...``) or ``ERR1`` and the JSON
        error shape. Frames come in the order of the queries. The page sends
        its charts' requests this way: one connection instead of one per
        chart, and each chart draws as soon as its frame arrives.
        """

        def frames() -> Iterator[bytes]:
            for query in batch.queries:
                try:
                    payload = _scalars_binary(data, query)
                except StepscopeError as error:
                    payload = (
                        b"ERR1"
                        + json.dumps(
                            {"error": {"status": error.http_status, "message": str(error)}}
                        ).encode()
                    )
                yield struct.pack("<I", len(payload)) + payload

        return StreamingResponse(
            frames(), media_type=BINARY_FRAMES, headers={"Cache-Control": "no-cache"}
        )

    app.include_router(data_routes(data))
    mount_plugins(app, data, registry, tell)

    if web is not None:
        _add_web(app, web, window_title)
    else:

        @app.get("/", include_in_schema=False)
        def no_page() -> HTMLResponse:
            return HTMLResponse(
                "<!doctype html><title>stepscope</title><p>The web app of this stepscope "
                "install was not built (it needs Node.js and npm when installing). "
                'The API is served: see <a href="api/docs">api/docs</a>.</p>',
                status_code=503,
            )

    return app


def _series_of(data: DataProvider, query: ScalarsQuery) -> list[tuple[str, ScalarSeries]]:
    if (
        query.min_step is not None
        and query.max_step is not None
        and query.min_step > query.max_step
    ):
        raise UsageError("bad parameter 'min_step': larger than max_step")
    found = data.scalars_of_tag(
        query.tag, query.runs, query.max_points, query.min_step, query.max_step
    )
    if not found:
        raise NotFoundError(f"no run has a scalar tag {query.tag!r}")
    return found


def _scalars_binary(data: DataProvider, query: ScalarsQuery) -> bytes:
    return columns_binary(query.tag, _series_of(data, query))


def _scalars(data: DataProvider, query: ScalarsQuery) -> Response:
    found = _series_of(data, query)
    headers = {"Cache-Control": "no-cache"}
    if query.format == "binary":
        return Response(
            columns_binary(query.tag, found), media_type=BINARY_COLUMNS, headers=headers
        )
    series = [
        {
            "run": name,
            "total": s.total,
            "step": s.steps.tolist(),
            "wall_time": s.wall_times.tolist(),
            "value": [json_number(v) for v in s.values.tolist()],
        }
        for name, s in found
    ]
    return JSONResponse({"tag": query.tag, "series": series}, headers=headers)


def columns_binary(tag: str, found: list[tuple[str, ScalarSeries]]) -> bytes:
    """Series as ``SSC2``, header length (uint32 LE), a JSON header, then compact columns.

    The header is ``{"tag", "series": [{"run", "total", "points", "step",
    "value", "wall0"}]}``, padded to 8 bytes. Then, series after series, three
    blocks, each padded to 8 bytes: the steps (``"step"`` says ``"i4"``,
    int32, when they all fit, else ``"f8"``, float64: beyond 2**53 they lose
    precision, which the JSON form keeps), the wall times as float32 seconds
    after ``wall0`` (to a few milliseconds over days: what a chart shows), and
    the values (``"value"``: ``"f4"``, float32, what ``add_scalar`` logs, unless
    a finite value is out of float32's range: then ``"f8"``). All little-endian;
    NaN and infinities as such. Half the bytes of float64 columns, which the
    browser reads markedly faster.
    """
    entries: list[dict[str, Any]] = []
    blocks: list[bytes] = []
    for name, series in found:
        steps, walls, values = series.steps, series.wall_times, series.values
        small = len(steps) == 0 or (steps.min() >= -(2**31) and steps.max() < 2**31)
        step_block = steps.astype("<i4" if small else "<f8")
        wall0 = float(walls[0]) if len(walls) else 0.0
        finite = values[np.isfinite(values)]
        narrow = len(finite) == 0 or float(np.abs(finite).max()) <= _FLOAT32_MAX
        entries.append(
            {
                "run": name,
                "total": series.total,
                "points": len(steps),
                "step": "i4" if small else "f8",
                "value": "f4" if narrow else "f8",
                "wall0": wall0,
            }
        )
        for block in (
            step_block,
            (walls - wall0).astype("<f4"),
            values.astype("<f4" if narrow else "<f8"),
        ):
            raw = block.tobytes()
            blocks.append(raw + b"\0" * (-len(raw) % 8))
    header = json.dumps({"tag": tag, "series": entries}).encode()
    start = len(_MAGIC) + 4 + len(header)
    padding = b" " * (-start % 8)
    return b"".join(
        [_MAGIC, struct.pack("<I", len(header) + len(padding)), header, padding, *blocks]
    )


def _add_web(app: FastAPI, web: Path, window_title: str) -> None:
    page = (web / "index.html").read_text(encoding="utf-8")

    @app.get("/", include_in_schema=False)
    def index() -> HTMLResponse:
        return HTMLResponse(
            page, headers={"Cache-Control": "no-cache", "Content-Security-Policy": _CSP}
        )

    app.mount("/assets", _Assets(directory=web / "assets"), name="assets")

    @app.get("/favicon.svg", include_in_schema=False)
    def favicon() -> Response:
        return FileResponse(web / "favicon.svg", headers={"Cache-Control": "max-age=86400"})


class _Assets(StaticFiles):
    """The page's scripts and styles: their names carry a content hash, so they never change."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return response


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr)


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": {"status": status, "message": message}}, status_code=status)


class TokenMiddleware:
    """Requires the token printed with the URL (query once, then a cookie; or a header)."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.token = token.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        from_query = request.query_params.get("token")
        header = request.headers.get("authorization", "")
        given = from_query or (header[6:].strip() if header.lower().startswith("token ") else None)
        given = given or request.cookies.get(_COOKIE)
        if given is None or not hmac.compare_digest(given.encode(), self.token):
            refused = _error(
                403,
                "this stepscope server needs its token: open the URL it printed "
                "(it ends in ?token=...)",
            )
            await refused(scope, receive, send)
            return
        if not from_query:
            await self.app(scope, receive, send)
            return
        # The tokened URL: remember the token in a cookie, then show the address without it.
        if scope["method"] == "GET" and request.url.path.endswith("/"):
            clean = URL(scope=scope).remove_query_params("token")
            redirect = Response(status_code=303, headers={"Location": str(clean)})
            redirect.set_cookie(_COOKIE, self.token.decode(), httponly=True, samesite="strict")
            await redirect(scope, receive, send)
            return
        cookie = Response()
        cookie.set_cookie(_COOKIE, self.token.decode(), httponly=True, samesite="strict")
        extra = [(k.encode(), v.encode()) for k, v in cookie.headers.items() if k == "set-cookie"]

        async def send_with_cookie(message: Any) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_cookie)
