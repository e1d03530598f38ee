"""Loading one run's event files incrementally into a :class:`~stepscope.loader.model.Sink`.

A :class:`RunLoader` keeps a :class:`~stepscope.loader.chunk.FileState` (an
offset) per file, so each :meth:`RunLoader.load` reads only what was
appended since the last one; the parsing itself is
:func:`~stepscope.loader.chunk.parse_run`, the same the index uses.

Problems (a file that vanished, cannot be read, or holds damaged records)
are reported once per file and skipped; everything readable is loaded.
"""

from __future__ import annotations

from collections.abc import Sequence

from stepscope.loader.chunk import parse_run
from stepscope.loader.model import FileState, Sink, TagInfo


class RunLoader:
    """Reads the event files of one run, remembering how far it got in each.

    Example::

        loader = RunLoader("train")
        sink = MemorySink()
        loader.load(["logs/train/events.out.tfevents.1.host"], sink)
        loader.load([...])  # later: only what was appended is read
    """

    def __init__(self, run: str) -> None:
        self.run = run
        self.files: dict[str, FileState] = {}
        self.tags: dict[str, TagInfo] = {}
        self.events_read = 0

    def load(self, files: Sequence[str], sink: Sink) -> int:
        """Read what is new in ``files`` (in this order); return how many events."""
        states = [self.files.get(path) or FileState(path) for path in files]
        chunk = parse_run(self.run, states, self.tags)
        for state in chunk.files:
            self.files[state.path] = state
        self.tags.update(chunk.tags)
        self.events_read += chunk.events
        chunk.replay(sink)
        return chunk.events

    def corrupt_records(self) -> int:
        """How many damaged records were skipped in this run's files."""
        return sum(state.corrupt_records for state in self.files.values())
