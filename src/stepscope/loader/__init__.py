"""Reading logdirs: finding runs and loading their events incrementally."""

from stepscope.loader.chunk import FileState, RunChunk, histogram_buckets, parse_run
from stepscope.loader.discovery import (
    Discovery,
    LogdirSource,
    RunFiles,
    discover,
    is_event_file,
    parse_logdir_spec,
)
from stepscope.loader.model import BlobRef, MemorySink, Sink, TagInfo
from stepscope.loader.run_loader import RunLoader

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
