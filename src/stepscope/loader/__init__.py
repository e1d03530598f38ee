"""Reading logdirs: finding runs and loading their events incrementally.

The names below are imported on first use, so that a program which only
discovers runs (or a warm restart of the index) does not load protobuf.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stepscope.loader.chunk import RunChunk, histogram_buckets, parse_run
    from stepscope.loader.discovery import (
        Discovery,
        LogdirSource,
        RunFiles,
        discover,
        is_event_file,
        parse_logdir_spec,
    )
    from stepscope.loader.model import BlobRef, FileState, MemorySink, Sink, TagInfo
    from stepscope.loader.run_loader import RunLoader

_WHERE = {
    "RunChunk": "chunk",
    "histogram_buckets": "chunk",
    "parse_run": "chunk",
    "Discovery": "discovery",
    "LogdirSource": "discovery",
    "RunFiles": "discovery",
    "discover": "discovery",
    "is_event_file": "discovery",
    "parse_logdir_spec": "discovery",
    "BlobRef": "model",
    "FileState": "model",
    "MemorySink": "model",
    "Sink": "model",
    "TagInfo": "model",
    "RunLoader": "run_loader",
}

__all__ = [
    "BlobRef",
    "Discovery",
    "FileState",
    "LogdirSource",
    "MemorySink",
    "RunChunk",
    "RunFiles",
    "RunLoader",
    "Sink",
    "TagInfo",
    "discover",
    "histogram_buckets",
    "is_event_file",
    "parse_logdir_spec",
    "parse_run",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'stepscope.loader' has no attribute {name!r}")
    return getattr(importlib.import_module(f"stepscope.loader.{module}"), name)
