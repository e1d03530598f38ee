"""The loader's data model: what every event, in any of its legacy or modern
forms, becomes.

Each tag of a run belongs to one plugin, fixed by the tag's first
occurrence. Its values are one of three kinds:

* **scalars** (``scalars``): ``(step, wall_time, value)`` with a float64
  value, from ``simple_value`` or a rank-0 tensor of plugin ``scalars``;
* **tensors** (histograms as ``[k, 3]`` rows of ``(left, right, count)``,
  PR curves, text, hparams, meshes, and any plugin stepscope does not know):
  a numpy array per step;
* **blobs** (images, audio): references ``(file, offset, length)`` into the
  event file, read on demand, so memory does not grow with their number.

Besides values, a run holds **checkpoints**: each ``SessionLog CHECKPOINT``
event (a checkpoint saved at a step) as ``(step, wall_time, checkpoint_path,
msg)``.

A :class:`Sink` receives them in file order; a purge (``SessionLog START``)
arrives after everything written before it, and drops checkpoints at its
step or later as it drops values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import numpy.typing as npt


@dataclass(frozen=True)
class TagInfo:
    """A tag's metadata, from its first occurrence in a run."""

    plugin_name: str
    content: bytes = b""
    data_class: int = 0
    display_name: str = ""
    description: str = ""


@dataclass(frozen=True)
class BlobRef:
    """Where a blob's bytes lie in an event file, plus what is known about them."""

    path: str
    offset: int
    length: int
    width: int = 0
    height: int = 0
    content_type: str = ""

    def read(self) -> bytes:
        """The blob's bytes."""
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            data = f.read(self.length)
        if len(data) != self.length:
            raise OSError(f"{self.path} is shorter than it was when indexed")
        return data


def sniff_content_type(head: bytes) -> str:
    """The media type of image or audio bytes, from their first bytes (for blobs logged without one)."""
    if head.startswith(b"\x89PNG"):
        return "image/png"
    if head.startswith(b"GIF8"):
        return "image/gif"
    if head.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if head.startswith(b"RIFF"):
        return "audio/wav"
    return "application/octet-stream"


@dataclass
class FileState:
    """How far a file has been read, and what went wrong in it."""

    path: str
    offset: int = 0
    corrupt_records: int = 0
    reported: bool = False  # a problem of this file was already reported (once per file)


class Sink(Protocol):
    """Receives a run's data as the loader reads it."""

    def tag(self, run: str, tag: str, info: TagInfo) -> None: ...

    def scalar(self, run: str, tag: str, step: int, wall_time: float, value: float) -> None: ...

    def tensor(
        self, run: str, tag: str, step: int, wall_time: float, value: npt.NDArray[Any]
    ) -> None: ...

    def blob(
        self, run: str, tag: str, step: int, wall_time: float, index: int, ref: BlobRef
    ) -> None: ...

    def checkpoint(
        self, run: str, step: int, wall_time: float, path: str, message: str
    ) -> None: ...

    def purge(self, run: str, step: int) -> None: ...

    def problem(self, run: str, path: str, message: str) -> None: ...


Point = tuple[int, float, Any]


@dataclass
class MemorySink:
    """A :class:`Sink` that keeps everything in dicts (for tests and small tools)."""

    tags: dict[tuple[str, str], TagInfo] = field(default_factory=dict)
    scalars: dict[tuple[str, str], list[Point]] = field(default_factory=dict)
    tensors: dict[tuple[str, str], list[Point]] = field(default_factory=dict)
    blobs: dict[tuple[str, str], list[tuple[int, float, int, BlobRef]]] = field(
        default_factory=dict
    )
    #: Per run: ``(step, wall_time, checkpoint_path, msg)`` in logged order.
    checkpoints: dict[str, list[tuple[int, float, str, str]]] = field(default_factory=dict)
    problems: list[tuple[str, str, str]] = field(default_factory=list)

    def tag(self, run: str, tag: str, info: TagInfo) -> None:
        self.tags[(run, tag)] = info

    def scalar(self, run: str, tag: str, step: int, wall_time: float, value: float) -> None:
        self.scalars.setdefault((run, tag), []).append((step, wall_time, value))

    def tensor(
        self, run: str, tag: str, step: int, wall_time: float, value: npt.NDArray[Any]
    ) -> None:
        self.tensors.setdefault((run, tag), []).append((step, wall_time, value))

    def blob(
        self, run: str, tag: str, step: int, wall_time: float, index: int, ref: BlobRef
    ) -> None:
        self.blobs.setdefault((run, tag), []).append((step, wall_time, index, ref))

    def checkpoint(self, run: str, step: int, wall_time: float, path: str, message: str) -> None:
        self.checkpoints.setdefault(run, []).append((step, wall_time, path, message))

    def purge(self, run: str, step: int) -> None:
        _drop_from(self.scalars, run, step)
        _drop_from(self.tensors, run, step)
        _drop_from(self.blobs, run, step)
        if run in self.checkpoints:
            self.checkpoints[run] = [c for c in self.checkpoints[run] if c[0] < step]

    def problem(self, run: str, path: str, message: str) -> None:
        self.problems.append((run, path, message))


Row = TypeVar("Row", bound=tuple[Any, ...])


def _drop_from(table: dict[tuple[str, str], list[Row]], run: str, step: int) -> None:
    """Drop ``run``'s rows at ``step`` or later (each row starts with its step)."""
    for (row_run, _), rows in table.items():
        if row_run == run:
            rows[:] = [row for row in rows if row[0] < step]
