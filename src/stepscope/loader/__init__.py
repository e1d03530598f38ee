"""Reading logdirs: finding runs and loading their events incrementally."""

from stepscope.loader.discovery import (
    Discovery,
    LogdirSource,
    RunFiles,
    discover,
    is_event_file,
    parse_logdir_spec,
)
from stepscope.loader.model import BlobRef, MemorySink, Sink, TagInfo
from stepscope.loader.run_loader import RunLoader, histogram_buckets

__all__ = [
    "BlobRef",
    "Discovery",
    "LogdirSource",
    "MemorySink",
    "RunFiles",
    "RunLoader",
    "Sink",
    "TagInfo",
    "discover",
    "histogram_buckets",
    "is_event_file",
    "parse_logdir_spec",
]
