"""The generic data routes every kind reads through: tensors, blobs and checkpoints.

They answer what the :class:`~stepscope.store.provider.DataProvider` holds,
in the shapes of ``docs/server.md`` (one error shape, non-finite floats as
strings). What a single kind makes of these data (the images' previews, the
hparams sessions, the meshes...) lives in its plugin, under
``/api/plugins/<name>/``.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response

from stepscope.loader.model import BlobRef, sniff_content_type
from stepscope.server.jsonable import json_number, tensor_values
from stepscope.store.provider import BlobPoint, DataProvider

RunParam = Annotated[str, Query(min_length=1, max_length=1000)]
TagParam = Annotated[str, Query(min_length=1, max_length=1000)]
_FRESH = {"Cache-Control": "no-cache"}


def data_routes(data: DataProvider) -> APIRouter:
    router = APIRouter()

    @router.get("/api/tensors")
    def tensors(
        run: RunParam,
        tag: TagParam,
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
                **tensor_values(point.value),
            }
            for point in data.tensors(run, tag, max_points)
        ]
        plugin = tag_plugin(data, run, tag)
        return JSONResponse(
            {"run": run, "tag": tag, "plugin": plugin, "points": points}, headers=_FRESH
        )

    @router.get("/api/blobs")
    def blobs(run: RunParam, tag: TagParam) -> JSONResponse:
        """A tag's images or audio clips by step: size, type, and the URL of the bytes.

        The URL carries a version of where the bytes lie, so the browser may
        keep what it fetched for good.
        """
        found = [blob_json(run, tag, point) for point in data.blobs(run, tag)]
        return JSONResponse({"run": run, "tag": tag, "blobs": found}, headers=_FRESH)

    @router.get("/api/blob")
    def blob(
        run: RunParam,
        tag: TagParam,
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
        return blob_response(content, ref.content_type or sniff_content_type(content), ref, v)

    @router.get("/api/checkpoints")
    def checkpoints(
        run: Annotated[str | None, Query(min_length=1, max_length=1000)] = None,
    ) -> JSONResponse:
        """The checkpoints saved (``SessionLog CHECKPOINT`` events) of one run, or of all.

        A list of ``{run, step, wall_time, path}`` by run, then step; a run
        without checkpoints gives ``[]``, an unknown run a 404.
        """
        return JSONResponse(checkpoints_json(data, run), headers=_FRESH)

    return router


def blob_json(run: str, tag: str, point: BlobPoint) -> dict[str, Any]:
    """One entry of ``/api/blobs``: where the bytes are and what they are."""
    return {
        "step": point.step,
        "wall_time": point.wall_time,
        "index": point.index,
        "width": point.ref.width,
        "height": point.ref.height,
        "content_type": point.ref.content_type,
        "length": point.ref.length,
        "url": "api/blob?" + urlencode(blob_query(run, tag, point)),
    }


def blob_query(run: str, tag: str, point: BlobPoint) -> dict[str, str | int]:
    """The query naming one blob, with ``v``, the version of where its bytes lie."""
    return {
        "run": run,
        "tag": tag,
        "step": point.step,
        "index": point.index,
        "v": blob_version(point.ref.path, point.ref.offset, point.ref.length),
    }


def blob_response(content: bytes, media_type: str, ref: BlobRef, v: str | None) -> Response:
    """Bytes made from one blob: cacheable for good when ``v`` names where the blob lies now."""
    current = blob_version(ref.path, ref.offset, ref.length)
    cache = "private, max-age=31536000, immutable" if v == current else "no-cache"
    return Response(
        content,
        media_type=media_type,
        headers={"Cache-Control": cache, "X-Content-Type-Options": "nosniff"},
    )


def blob_version(path: str, offset: int, length: int) -> str:
    return hashlib.sha256(f"{path}\0{offset}\0{length}".encode()).hexdigest()[:16]


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


def tag_plugin(data: DataProvider, run: str, tag: str) -> str:
    """The plugin that owns ``tag`` of ``run`` (a 404 if the run has no such tag)."""
    return data.tag_info(run, tag).plugin_name
