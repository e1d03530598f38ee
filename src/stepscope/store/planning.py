"""What the index knows of each run, and what an update has to read of it.

An update compares each event file on disk with how far it was read: a file
that grew is read from its offset on; a file that is now another file (a new
inode) or shorter than what was read makes the whole run be read anew.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from stepscope.loader.model import FileState, TagInfo


@dataclass
class IndexedRun:
    """One run as the index holds it: its id, its tags and how far each file was read."""

    run_id: int
    name: str
    directory: str
    tags: dict[str, tuple[int, TagInfo]] = field(default_factory=dict)
    files: dict[str, tuple[FileState, int, int]] = field(default_factory=dict)  # state, size, inode
    hparams_mtime: int | None = None


#: A run to read: the read state of each of its files, and how many bytes are new.
ReadTask = tuple[IndexedRun, list[FileState], int]


def stat_or_none(path: str) -> os.stat_result | None:
    try:
        return os.stat(path)
    except OSError:
        return None  # parsing it will say why, once


def is_replaced(run: IndexedRun, statuses: dict[str, os.stat_result | None]) -> bool:
    """Whether a file the run was read from now is another file, or shorter than what was read."""
    for path, status in statuses.items():
        known = run.files.get(path)
        if known is not None and status is not None:
            state, _, inode = known
            if status.st_ino != inode or status.st_size < state.offset:
                return True
    return False


def files_to_read(
    run: IndexedRun, statuses: dict[str, os.stat_result | None]
) -> tuple[list[FileState], int]:
    """The read state of each of the run's files, and how many bytes are new.

    A file that cannot be stat'ed counts as one new byte, so it is parsed and
    its problem reported. A file seen for the first time is remembered in ``run``.
    """
    states, pending = [], 0
    for path, status in statuses.items():
        known = run.files.get(path)
        state = known[0] if known else FileState(path)
        states.append(state)
        if status is None or status.st_size > state.offset:
            pending += max((status.st_size if status else 0) - state.offset, 1)
        if known is None and status is not None:
            run.files[path] = (state, status.st_size, status.st_ino)
    return states, pending
