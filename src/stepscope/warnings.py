"""Warn once per cause, saying what to do (a training loop must not print a warning per step)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Hashable

_seen: set[Hashable] = set()
_lock = threading.Lock()


def warn_once(message: str, *, key: Hashable) -> None:
    """Print ``stepscope: <message>`` to stderr the first time ``key`` is seen."""
    with _lock:
        if key in _seen:
            return
        _seen.add(key)
    print(f"stepscope: {message}", file=sys.stderr)
