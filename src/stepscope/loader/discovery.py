"""Finding the runs of a logdir, as TensorBoard does.

A run is a directory that directly holds at least one event file (a file
whose name contains ``tfevents``), named by its path relative to the logdir
(``.`` for the logdir itself). A run's files are read in name order, which
for every writer we know is the order they were created in (the name starts
with ``events.out.tfevents.<10-digit time>``).

``--logdir_spec`` takes TensorBoard's form, ``name1:path1,name2:path2``: a
run found under a named path is called ``<name>/<relative path>`` (just
``<name>`` for the path itself). A spec starting with ``/``, a Windows drive
(``C:\\``) or a URL scheme has no name.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from stepscope.errors import NotFoundError

EVENT_FILE_MARKER = "tfevents"
_URI = re.compile(r"[a-zA-Z][0-9a-zA-Z.]*://.*")


@dataclass(frozen=True)
class LogdirSource:
    """One directory to look for runs in, with the name its runs are grouped under."""

    path: str
    name: str | None = None


def parse_logdir_spec(spec: str) -> list[LogdirSource]:
    """Parse TensorBoard's ``name1:path1,name2:path2`` (a plain path has no name).

    Example::

        >>> parse_logdir_spec("train:/logs/a,/logs/b")  # doctest: +SKIP
        [LogdirSource(path='/logs/a', name='train'), LogdirSource(path='/logs/b', name=None)]
    """
    sources = []
    for part in spec.split(","):
        if not part:
            continue
        named = (
            _URI.match(part) is None
            and ":" in part
            and not part.startswith("/")
            and not os.path.splitdrive(part)[0]
        )
        name, path = part.split(":", 1) if named else (None, part)
        sources.append(LogdirSource(os.path.realpath(os.path.expanduser(path)), name or None))
    return sources


def is_event_file(name: str) -> bool:
    """Whether a file name is an event file's (TensorBoard's rule: it contains ``tfevents``)."""
    return EVENT_FILE_MARKER in name


@dataclass(frozen=True)
class RunFiles:
    """A run and its event files, in reading order."""

    run: str
    directory: str
    files: tuple[str, ...]


@dataclass
class Discovery:
    """The runs found under some sources, and what could not be looked at."""

    runs: dict[str, RunFiles] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def check_sources(sources: list[LogdirSource]) -> None:
    """Raise the one-line error :func:`discover` would for a source that is not a directory."""
    for source in sources:
        if not os.path.isdir(source.path):
            raise NotFoundError(
                f"logdir {source.path} does not exist or is not a directory; check the path"
            )


def discover(sources: list[LogdirSource]) -> Discovery:
    """Every run under ``sources``; a source that does not exist is an error.

    Unreadable directories below a source are reported in ``problems`` (once
    each) and skipped; everything readable is still found.
    """
    found = Discovery()
    check_sources(sources)
    for source in sources:
        for directory, files in _walk(source.path, found.problems):
            relative = os.path.relpath(directory, source.path)
            run = _run_name(source.name, relative)
            found.runs[run] = RunFiles(run, directory, tuple(files))
    return found


def _run_name(group: str | None, relative: str) -> str:
    relative = relative.replace(os.sep, "/")
    if group is None:
        return relative
    return group if relative == "." else f"{group}/{relative}"


def _walk(top: str, problems: list[str]) -> Iterator[tuple[str, list[str]]]:
    """``(directory, sorted event file paths)`` for each directory holding event files."""

    def report(error: OSError) -> None:
        problems.append(f"cannot read {error.filename}: {error.strerror}; its runs are skipped")

    seen: set[tuple[int, int]] = set()
    # Links are followed (logdirs are often assembled from symlinks), but each
    # directory is read once, so a link back up the tree cannot loop forever.
    for directory, subdirectories, names in os.walk(top, onerror=report, followlinks=True):
        try:
            status = os.stat(directory)
        except OSError as error:
            report(error)
            subdirectories.clear()
            continue
        if (status.st_dev, status.st_ino) in seen:
            subdirectories.clear()
            continue
        seen.add((status.st_dev, status.st_ino))
        subdirectories.sort()
        events = sorted(name for name in names if is_event_file(name))
        if events:
            yield directory, [os.path.join(directory, name) for name in events]
