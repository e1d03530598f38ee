"""Reading logdirs: finding runs and (next) loading their events incrementally."""

from stepscope.loader.discovery import (
    Discovery,
    LogdirSource,
    RunFiles,
    discover,
    is_event_file,
    parse_logdir_spec,
)

__all__ = [
    "Discovery",
    "LogdirSource",
    "RunFiles",
    "discover",
    "is_event_file",
    "parse_logdir_spec",
]
