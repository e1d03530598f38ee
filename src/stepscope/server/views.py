"""The API of the views beyond scalars: tensors (histograms, text, PR curves, any plugin), images and audio, hparams, checkpoints.

These are the data of issue 5's views; the routes read through the same
:class:`~stepscope.store.provider.DataProvider` as the rest and answer in the
same shapes (one error shape, non-finite floats as strings in JSON).
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import warnings
from typing import Annotated, Any
from urllib.parse import urlencode

import numpy as np
from fastapi import FastAPI, Query
from fastapi.responses import JSONResponse, Response
from google.protobuf.message import DecodeError

from stepscope.errors import NotFoundError, UnprocessableError
from stepscope.loader.model import sniff_content_type
from stepscope.plugins.custom_scalars.summary import CONFIG_TAG
from stepscope.proto import plugin_custom_scalars_pb2 as custom_scalars_pb2
from stepscope.store.provider import DataProvider

#: A tensor with more elements than this comes as a preview of its first ``PREVIEW`` values.
MAX_ELEMENTS = 100_000
PREVIEW = 1_000

#: An image of more pixels than this is listed with a scaled preview (the page would
#: stall decoding it), at most ``PREVIEW_SIDE`` pixels on its longer side.
PREVIEW_PIXELS = 4_000_000
PREVIEW_SIDE = 2048
#: Pillow refuses images beyond this (a decompression bomb guard); stepscope allows
#: what a writer can reasonably log and says so beyond it.
MAX_DECODED_PIXELS = 300_000_000

_RunParam = Annotated[str, Query(min_length=1, max_length=1000)]
_TagParam = Annotated[str, Query(min_length=1, max_length=1000)]


def add_view_routes(app: FastAPI, data: DataProvider) -> None:
    @app.get("/api/tensors")
    def tensors(
        run: _RunParam,
        tag: _TagParam,
        max_points: Annotated[int | None, Query(ge=1, le=100_000)] = None,
    ) -> JSONResponse:
        """A tag's tensors by step (histograms, text, PR curves, any plugin), as nested lists.

        ``max_points`` keeps that many steps, evenly spaced, first and last
        included. Strings are decoded as UTF-8 (invalid bytes replaced); a
        tensor of more than 100,000 elements comes as a flat preview of its
        first 1,000 values with ``"truncated": true``.
        """
        points = [
            {
                "step": point.step,
                "wall_time": point.wall_time,
                "dtype": str(point.value.dtype),
                "shape": list(point.value.shape),
                **_values(point.value),
            }
            for point in data.tensors(run, tag, max_points)
        ]
        plugin = _plugin(data, run, tag)
        return JSONResponse(
            {"run": run, "tag": tag, "plugin": plugin, "points": points},
            headers={"Cache-Control": "no-cache"},
        )

    @app.get("/api/blobs")
    def blobs(run: _RunParam, tag: _TagParam) -> JSONResponse:
        """A tag's images or audio clips by step: size, type, and the URL of the bytes.

        The URL carries a version of where the bytes lie, so the browser may
        keep what it fetched for good.
        """
        found = []
        for point in data.blobs(run, tag):
            query = {
                "run": run,
                "tag": tag,
                "step": point.step,
                "index": point.index,
                "v": _version(point.ref.path, point.ref.offset, point.ref.length),
            }
            huge = point.ref.width * point.ref.height > PREVIEW_PIXELS
            found.append(
                {
                    "step": point.step,
                    "wall_time": point.wall_time,
                    "index": point.index,
                    "width": point.ref.width,
                    "height": point.ref.height,
                    "content_type": point.ref.content_type,
                    "length": point.ref.length,
                    "url": "api/blob?" + urlencode(query),
                    "preview_url": "api/blob?" + urlencode({**query, "preview": 1})
                    if huge
                    else None,
                }
            )
        return JSONResponse(
            {"run": run, "tag": tag, "blobs": found}, headers={"Cache-Control": "no-cache"}
        )

    @app.get("/api/blob")
    def blob(
        run: _RunParam,
        tag: _TagParam,
        step: int,
        index: Annotated[int, Query(ge=0)] = 0,
        v: Annotated[str | None, Query(max_length=64)] = None,
        preview: bool = False,
    ) -> Response:
        """The bytes of one image or audio clip (the last logged at that step and index).

        With the ``v`` that ``/api/blobs`` gives, the answer is cacheable for
        good; if the bytes have moved since (the run was re-read), ``v`` no
        longer matches and the answer is not cached. ``preview=true`` gives an
        image scaled to at most 2048 pixels on its longer side, as PNG.
        """
        ref = data.blob_point(run, tag, step, index).ref
        content = data.read_blob(run, tag, step, ref)
        current = _version(ref.path, ref.offset, ref.length)
        cache = "private, max-age=31536000, immutable" if v == current else "no-cache"
        media_type = ref.content_type or sniff_content_type(content)
        if preview:
            content, media_type = _scaled(content, tag, step)
        return Response(
            content,
            media_type=media_type,
            headers={"Cache-Control": cache, "X-Content-Type-Options": "nosniff"},
        )

    # /api/hparams reads every scalar's last value: kept until the index changes.
    hparams_cache: dict[int, list[dict[str, Any]]] = {}

    @app.get("/api/hparams")
    def hparams() -> JSONResponse:
        """One entry per run with hyperparameters: ``{run, hparams, metrics}``.

        Hyperparameters come from the hparams plugin and Lightning's
        ``hparams.yaml``; ``metrics`` holds each scalar tag's final value
        (at the run's highest step).
        """
        generation = data.index.generation
        cached = hparams_cache.get(generation)
        if cached is not None:
            return JSONResponse({"sessions": cached}, headers={"Cache-Control": "no-cache"})
        found = data.hparams()
        last = data.last_scalars()
        metrics: dict[str, dict[str, Any]] = {}
        for run, tag, value in last.itertuples(index=False, name=None):
            metrics.setdefault(run, {})[tag] = json_number(float(value))
        sessions = [
            {
                "run": run,
                "hparams": {k: _plain(v) for k, v in values.items()},
                "metrics": metrics.get(run, {}),
            }
            for run, values in found
        ]
        hparams_cache.clear()
        hparams_cache[generation] = sessions
        return JSONResponse({"sessions": sessions}, headers={"Cache-Control": "no-cache"})

    @app.get("/api/checkpoints")
    def checkpoints(
        run: Annotated[str | None, Query(min_length=1, max_length=1000)] = None,
    ) -> JSONResponse:
        """The checkpoints saved (``SessionLog CHECKPOINT`` events) of one run, or of all.

        A list of ``{run, step, wall_time, path}`` by run, then step; a run
        without checkpoints gives ``[]``, an unknown run a 404.
        """
        return JSONResponse(checkpoints_json(data, run), headers={"Cache-Control": "no-cache"})

    @app.get("/api/custom_scalars")
    def custom_scalars() -> JSONResponse:
        """The layout written by ``add_custom_scalars``, merged over runs.

        ``{categories: [{title, closed, charts: [{title, multiline: [tag regex]}
        | {title, margin: [{value, lower, upper}]}]}], problems: [line]}``.
        Each run's last layout counts; categories of one title are merged and
        a chart that two runs both define is listed once.
        """
        categories: dict[str, dict[str, Any]] = {}
        seen: set[str] = set()
        problems = []
        for found in data.tags("custom_scalars", count_points=False):
            if found.tag != CONFIG_TAG:
                continue
            points = data.tensors(found.run, found.tag)
            if not points:
                continue
            try:
                layout = custom_scalars_pb2.Layout.FromString(_layout_bytes(points[-1].value))
            except (DecodeError, ValueError) as error:
                problems.append(
                    f"run {found.run!r}: its custom scalars layout is unreadable ({error})"
                )
                continue
            for category in layout.category:
                merged = categories.setdefault(
                    category.title,
                    {"title": category.title, "closed": category.closed, "charts": []},
                )
                for chart in category.chart:
                    entry = _chart(chart)
                    key = json.dumps([category.title, entry], sort_keys=True)
                    if entry is not None and key not in seen:
                        seen.add(key)
                        merged["charts"].append(entry)
        return JSONResponse(
            {"categories": list(categories.values()), "problems": problems},
            headers={"Cache-Control": "no-cache"},
        )


def checkpoints_json(data: DataProvider, run: str | None = None) -> list[dict[str, Any]]:
    """What ``GET /api/checkpoints`` answers: the checkpoints of ``run`` (of every run if None).

    Example::

        checkpoints_json(provider, "train")
        # [{"run": "train", "step": 1000, "wall_time": 1.7e9, "path": "/runs/ckpt-1000.pt"}]
    """
    return [
        {
            "run": found.run,
            "step": found.step,
            "wall_time": json_number(found.wall_time),
            "path": found.path,
        }
        for found in data.checkpoints(run)
    ]


def _scaled(content: bytes, tag: str, step: int) -> tuple[bytes, str]:
    """An image scaled down to ``PREVIEW_SIDE`` pixels on its longer side, as PNG."""
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content)) as image:
                width, height = image.size
                if width * height > MAX_DECODED_PIXELS:
                    raise UnprocessableError(
                        f"the image {tag!r} at step {step} is {width}x{height}: too large to "
                        "scale; download it with stepscope.open(logdir).images()"
                    )
                image.draft("RGB", (PREVIEW_SIDE, PREVIEW_SIDE))  # JPEG decodes scaled down
                image.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE))
                out = io.BytesIO()
                image.save(out, format="PNG")
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise UnprocessableError(
            f"the image {tag!r} at step {step} cannot be decoded: {error}"
        ) from error
    return out.getvalue(), "image/png"


def _layout_bytes(value: np.ndarray) -> bytes:
    """The serialized Layout a custom scalars tensor holds (a rank-0 string; rank 1 from some writers)."""
    item = value.reshape(-1)[0] if value.size else b""
    if not isinstance(item, bytes):
        raise ValueError(f"a tensor of {value.dtype} where a serialized layout was expected")
    return item


def _chart(chart: custom_scalars_pb2.Chart) -> dict[str, Any] | None:
    kind = chart.WhichOneof("content")
    if kind == "multiline":
        return {"title": chart.title, "multiline": list(chart.multiline.tag)}
    if kind == "margin":
        series = [
            {"value": s.value, "lower": s.lower, "upper": s.upper} for s in chart.margin.series
        ]
        return {"title": chart.title, "margin": series}
    return None


def _plugin(data: DataProvider, run: str, tag: str) -> str:
    for found in data.tags(None, run, count_points=False):
        if found.tag == tag:
            return found.plugin
    raise NotFoundError(f"run {run!r} has no tag {tag!r}")


def _values(value: np.ndarray) -> dict[str, Any]:
    truncated = value.size > MAX_ELEMENTS
    if truncated:
        value = value.reshape(-1)[:PREVIEW]
    return {"values": _json_values(value), "truncated": truncated}


def _json_values(value: np.ndarray) -> Any:
    """Nested lists for JSON; numbers that JSON holds as they are skip the walk of :func:`_plain`."""
    kind = value.dtype.kind
    if kind == "f" and bool(np.isfinite(value).all()):
        return value.tolist()
    if kind in "iu" and (value.size == 0 or int(np.abs(value.astype(np.float64)).max()) <= 2**53):
        return value.tolist()
    if kind == "b":
        return value.tolist()
    return _plain(value.tolist())


def _plain(value: Any) -> Any:
    """JSON-safe: bytes as text, non-finite floats and integers beyond 2**53 as strings,
    complex numbers as ``[re, im]``, containers walked."""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, float):
        return json_number(value)
    if isinstance(value, complex):
        return [json_number(value.real), json_number(value.imag)]
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**53:
        return str(value)  # beyond what a JavaScript number holds exactly
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        return _plain(value.item())
    return value


def json_number(value: float) -> float | str:
    """A float for JSON: NaN and infinities as the strings JavaScript's ``Number()`` reads."""
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def _version(path: str, offset: int, length: int) -> str:
    return hashlib.sha256(f"{path}\0{offset}\0{length}".encode()).hexdigest()[:16]
