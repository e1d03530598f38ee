"""The images kind's reading: every image of a tag, with a preview for the huge ones.

An image of more than ``PREVIEW_PIXELS`` pixels would stall the page while
it decodes, so it is listed with the URL of a scaled copy
(:func:`scaled_preview`) beside the URL of its bytes.
"""

from __future__ import annotations

import io
import warnings
from typing import Any
from urllib.parse import urlencode

from stepscope.errors import UnprocessableError
from stepscope.server.data_routes import blob_json, blob_query
from stepscope.store.provider import DataProvider

PREVIEW_PIXELS = 4_000_000
#: The longer side of a preview, in pixels.
PREVIEW_SIDE = 2048
#: Pillow refuses images beyond this (a decompression bomb guard); stepscope allows
#: what a writer can reasonably log and says so beyond it.
MAX_DECODED_PIXELS = 300_000_000


def list_images(data: DataProvider, run: str, tag: str) -> list[dict[str, Any]]:
    """The images of a tag by step: ``/api/blobs``'s entries plus ``preview_url`` (or None).

    Example::

        list_images(provider, "train", "samples")[0]["preview_url"]  # None for a 64x64 image
    """
    found = []
    for point in data.blobs(run, tag):
        entry = blob_json(run, tag, point)
        huge = point.ref.width * point.ref.height > PREVIEW_PIXELS
        query = urlencode(blob_query(run, tag, point))
        entry["preview_url"] = f"api/plugins/images/preview?{query}" if huge else None
        found.append(entry)
    return found


def scaled_preview(content: bytes, tag: str, step: int) -> bytes:
    """The image scaled down to ``PREVIEW_SIDE`` pixels on its longer side, as PNG."""
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
    return out.getvalue()
