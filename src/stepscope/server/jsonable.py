"""One way to put values from logs into JSON, for the core routes and every plugin's.

JSON has no NaN or infinity: they go out as the strings ``"NaN"``,
``"Infinity"`` and ``"-Infinity"``, which JavaScript's ``Number()`` reads, so
a divergence is shown rather than dropped. Bytes go out as UTF-8 text
(invalid bytes replaced), integers beyond 2**53 as strings (a JavaScript
number would round them), complex numbers as ``[re, im]``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

#: A tensor with more elements than this comes as a preview of its first ``PREVIEW`` values.
MAX_ELEMENTS = 100_000
PREVIEW = 1_000


def json_number(value: float) -> float | str:
    """A float for JSON: NaN and infinities as the strings JavaScript's ``Number()`` reads."""
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def plain(value: Any) -> Any:
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
        return [plain(item) for item in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        return plain(value.item())
    return value


def tensor_values(value: np.ndarray) -> dict[str, Any]:
    """``{"values": nested lists, "truncated": bool}``: a flat preview past ``MAX_ELEMENTS``."""
    truncated = value.size > MAX_ELEMENTS
    if truncated:
        value = value.reshape(-1)[:PREVIEW]
    return {"values": json_values(value), "truncated": truncated}


def json_values(value: np.ndarray) -> Any:
    """Nested lists for JSON; numbers that JSON holds as they are skip the walk of :func:`plain`."""
    kind = value.dtype.kind
    if kind == "f" and bool(np.isfinite(value).all()):
        return value.tolist()
    if kind in "iu" and (value.size == 0 or int(np.abs(value.astype(np.float64)).max()) <= 2**53):
        return value.tolist()
    if kind == "b":
        return value.tolist()
    return plain(value.tolist())
