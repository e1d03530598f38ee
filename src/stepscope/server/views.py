"""The API of the views beyond scalars: tensors (histograms, text, PR curves, any plugin), images and audio, hparams.

These are the data of issue 5's views; the routes read through the same
:class:`~stepscope.store.provider.DataProvider` as the rest and answer in the
same shapes (one error shape, non-finite floats as strings in JSON).
"""

from __future__ import annotations

import hashlib
import math
from typing import Annotated, Any
from urllib.parse import urlencode

import numpy as np
from fastapi import FastAPI, Query
from fastapi.responses import JSONResponse, Response

from stepscope.errors import NotFoundError
from stepscope.loader.model import sniff_content_type
from stepscope.store.provider import DataProvider

#: A tensor with more elements than this comes as a preview of its first ``PREVIEW`` values.
MAX_ELEMENTS = 100_000
PREVIEW = 1_000

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
        found = [
            {
                "step": point.step,
                "wall_time": point.wall_time,
                "index": point.index,
                "width": point.ref.width,
                "height": point.ref.height,
                "content_type": point.ref.content_type,
                "length": point.ref.length,
                "url": "api/blob?"
                + urlencode(
                    {
                        "run": run,
                        "tag": tag,
                        "step": point.step,
                        "index": point.index,
                        "v": _version(point.ref.path, point.ref.offset, point.ref.length),
                    }
                ),
            }
            for point in data.blobs(run, tag)
        ]
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
    ) -> Response:
        """The bytes of one image or audio clip (the last logged at that step and index).

        With the ``v`` that ``/api/blobs`` gives, the answer is cacheable for
        good; if the bytes have moved since (the run was re-read), ``v`` no
        longer matches and the answer is not cached.
        """
        ref = data.blob_point(run, tag, step, index).ref
        content = data.read_blob(run, tag, step, ref)
        current = _version(ref.path, ref.offset, ref.length)
        cache = "private, max-age=31536000, immutable" if v == current else "no-cache"
        return Response(
            content,
            media_type=ref.content_type or sniff_content_type(content),
            headers={"Cache-Control": cache, "X-Content-Type-Options": "nosniff"},
        )

    @app.get("/api/hparams")
    def hparams() -> JSONResponse:
        """One entry per run with hyperparameters: ``{run, hparams, metrics}``.

        Hyperparameters come from the hparams plugin and Lightning's
        ``hparams.yaml``; ``metrics`` holds each scalar tag's final value
        (at the run's highest step).
        """
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
        return JSONResponse({"sessions": sessions}, headers={"Cache-Control": "no-cache"})


def _plugin(data: DataProvider, run: str, tag: str) -> str:
    for found in data.tags(None, run, count_points=False):
        if found.tag == tag:
            return found.plugin
    raise NotFoundError(f"run {run!r} has no tag {tag!r}")


def _values(value: np.ndarray) -> dict[str, Any]:
    if value.size > MAX_ELEMENTS:
        return {"values": _plain(value.reshape(-1)[:PREVIEW].tolist()), "truncated": True}
    return {"values": _plain(value.tolist()), "truncated": False}


def _plain(value: Any) -> Any:
    """JSON-safe: bytes as text, non-finite floats as strings, containers walked."""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, float):
        return json_number(value)
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
