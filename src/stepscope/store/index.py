"""The persistent index of a logdir: a DuckDB database file, filled incrementally.

The index remembers, for every event file, how far it has been read, so an
:meth:`Index.update` reads only what was appended since the last one, and a
restart on an unchanged logdir reads nothing. Scalars are stored at full
resolution in columns; tensors (histograms, PR curves, text, hparams,
meshes, plugins stepscope does not know) as serialized ``TensorProto``;
images and audio as references into the event files, read on demand;
checkpoints (``SessionLog CHECKPOINT`` events) as rows of their step, wall
time, path and message.

The tables are private (their names start with ``_``); :data:`VIEWS` are
the documented, stable way to query them with SQL (``docs/store.md``).

An index written by another schema version is rebuilt from the logdir.
The index lives in the user's cache directory by default and is never
written inside a logdir it reads.

The parts: :mod:`stepscope.store.schema` (the tables, the views, opening the
file), :mod:`stepscope.store.planning` (what an update has to read) and
:mod:`stepscope.store.commit` (writing what was parsed).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import duckdb

from stepscope.loader.discovery import LogdirSource, discover
from stepscope.loader.model import FileState, TagInfo
from stepscope.store.commit import RowBatch, transaction
from stepscope.store.planning import (
    IndexedRun,
    ReadTask,
    files_to_read,
    is_replaced,
    stat_or_none,
)
from stepscope.store.schema import (
    SCHEMA_VERSION,
    STEP_TABLES,
    VIEWS,
    IndexLockedError,
    connect,
    default_index_path,
    refuse_inside_logdir,
)
from stepscope.warnings import warn_once

if TYPE_CHECKING:
    from stepscope.loader.chunk import RunChunk

# Parsing (protobuf, the vectorized path, worker processes) is imported when
# there is something to read: a warm restart on an unchanged logdir does not
# pay for it.

__all__ = [
    "PARALLEL_BYTES",
    "SCHEMA_VERSION",
    "VIEWS",
    "Index",
    "UpdateReport",
    "default_index_path",
]

# Parsing in worker processes pays off past this much new data. (Read from this
# module at each update, as are _cores and discover: tests patch them here.)
PARALLEL_BYTES = 16 << 20
# Scalar rows gathered before one insert (bigger inserts are faster in DuckDB).
_INSERT_ROWS = 1 << 17


@dataclass
class UpdateReport:
    """What one :meth:`Index.update` did."""

    runs_loaded: int = 0
    events: int = 0
    bytes_read: int = 0
    new_runs: list[str] = field(default_factory=list)
    removed_runs: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0


class Index:
    """A DuckDB index of one logdir (or logdir spec).

    Example::

        index = Index.open(parse_logdir_spec("runs"))
        index.update()          # reads what is new
        index.cursor().execute("SELECT * FROM scalars").df()
    """

    def __init__(
        self, connection: duckdb.DuckDBPyConnection, path: str, sources: list[LogdirSource]
    ) -> None:
        self.path = path
        self.sources = sources
        self._con = connection
        self._write_lock = threading.RLock()
        self._runs: dict[str, IndexedRun] = {}
        self._next_run_id = 0
        self._reported_discovery: set[str] = set()
        #: Grows by one after every update that changed what the index holds.
        self.generation = 0
        # Per run, a number that grows (after the commit) whenever the run's rows
        # change; readers that cache a run's series check it. The epoch grows when
        # a failed update was rolled back, which invalidates every cached run.
        self._run_versions: dict[int, int] = {}
        self._touched: set[int] = set()
        self._epoch = 0
        self._read_state()

    # -- opening ---------------------------------------------------------------

    @classmethod
    def open(cls, sources: list[LogdirSource], path: str | None = None) -> Index:
        """Open (or create) the index of ``sources``; ``path`` defaults to the user's cache.

        An index of another schema version is rebuilt. If another process
        holds the index open, a private in-memory index is used instead.
        """
        chosen = path or default_index_path(sources)
        if chosen != ":memory:":
            chosen = os.path.abspath(os.path.expanduser(chosen))
            refuse_inside_logdir(chosen, sources)
            os.makedirs(os.path.dirname(chosen), exist_ok=True)
        try:
            connection = connect(chosen, rebuild_allowed=path is None)
        except IndexLockedError:
            warn_once(
                f"the index {chosen} is in use by another stepscope process; "
                "using a private in-memory index (pass --index PATH to keep one of your own)",
                key=("locked", chosen),
            )
            chosen = ":memory:"
            connection = connect(chosen, rebuild_allowed=True)
        return cls(connection, chosen, sources)

    def close(self) -> None:
        with self._write_lock:
            self._con.close()

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A connection for the calling thread (DuckDB connections are not shared across threads)."""
        return self._con.cursor()

    def _read_state(self) -> None:
        con = self._con
        for run_id, name, directory, mtime in con.execute(
            "SELECT run_id, name, directory, hparams_file_mtime FROM _runs"
        ).fetchall():
            self._runs[name] = IndexedRun(run_id, name, directory, hparams_mtime=mtime)
            self._next_run_id = max(self._next_run_id, run_id + 1)
        by_id = {run.run_id: run for run in self._runs.values()}
        for run_id, tag_id, tag, plugin, metadata, data_class, display, description in con.execute(
            "SELECT * FROM _tags"
        ).fetchall():
            info = TagInfo(plugin, bytes(metadata), data_class, display, description)
            by_id[run_id].tags[tag] = (tag_id, info)
        for path, run_id, offset, size, inode, corrupt, reported in con.execute(
            'SELECT path, run_id, "offset", size, inode, corrupt_records, reported FROM _files'
        ).fetchall():
            state = FileState(path, offset, corrupt, reported)
            by_id[run_id].files[path] = (state, size, inode)

    # -- updating ----------------------------------------------------------------

    def update(
        self,
        workers: int | None = None,
        progress: Callable[[int, int, int], None] | None = None,
    ) -> UpdateReport:
        """Read everything new under the logdir into the index.

        ``workers`` caps the worker processes of a large load (default: one
        per core). ``progress(runs_done, runs_to_read, events)`` is called after
        each run read. Returns what was done; problems are also kept in the index.
        """
        started = time.perf_counter()
        report = UpdateReport()
        found = discover(self.sources)
        for problem in found.problems:
            if problem not in self._reported_discovery:
                self._reported_discovery.add(problem)
                report.problems.append(problem)
        with self._write_lock:
            try:
                with transaction(self._con):
                    tasks = self._plan(found, report)
                    self._run_tasks(tasks, report, workers, progress)
            except BaseException:
                # What was not committed is rolled back: reload what the index holds.
                self._runs.clear()
                self._read_state()
                self._touched.clear()
                self._epoch += 1
                self.generation += 1
                raise
            changed = bool(self._touched)
            for run_id in self._touched:
                self._run_versions[run_id] = self._run_versions.get(run_id, 0) + 1
            self._touched.clear()
            if changed or report.events or report.new_runs or report.removed_runs:
                self.generation += 1
        report.seconds = time.perf_counter() - started
        return report

    def _plan(self, found: Any, report: UpdateReport) -> list[ReadTask]:
        """Register new runs, drop vanished ones, and list the runs with new bytes."""
        for name in [name for name in self._runs if name not in found.runs]:
            self._delete_run(self._runs.pop(name))
            report.removed_runs.append(name)
        tasks = []
        for name, run_files in found.runs.items():
            statuses = {path: stat_or_none(path) for path in run_files.files}
            run = self._runs.get(name)
            if run is None or run.directory != run_files.directory or is_replaced(run, statuses):
                # New, moved, or a file of it was replaced or truncated: read it anew.
                if run is not None:
                    self._delete_run(run)
                run = self._add_run(name, run_files.directory)
                report.new_runs.append(name)
            self._refresh_hparams(run)
            states, pending = files_to_read(run, statuses)
            if pending:
                tasks.append((run, states, pending))
        return tasks

    def _run_tasks(
        self,
        tasks: list[ReadTask],
        report: UpdateReport,
        workers: int | None,
        progress: Callable[[int, int, int], None] | None = None,
    ) -> None:
        if not tasks:
            return
        from stepscope.loader.chunk import parse_run
        from stepscope.loader.workers import WorkerError, run_parallel

        total = sum(pending for _, _, pending in tasks)
        cores = workers or _cores()
        batch = RowBatch(self._con)
        if total >= PARALLEL_BYTES and cores > 1 and len(tasks) > 1:
            tasks.sort(key=lambda task: -task[2])  # the biggest first: the cores finish together
            arguments = [(run.name, states, _infos(run)) for run, states, _ in tasks]
            for number, result in run_parallel(parse_run, arguments, cores):
                run = tasks[number][0]
                if isinstance(result, WorkerError):
                    report.problems.append(_failed(run, result))
                else:
                    self._apply(run, result, batch, report)
                if progress is not None:
                    progress(number + 1, len(tasks), report.events)
        else:
            for done, (run, states, _) in enumerate(tasks):
                try:
                    chunk = parse_run(run.name, states, _infos(run))
                except Exception as error:  # a bug must not stop the other runs
                    report.problems.append(_failed(run, error))
                    continue
                self._apply(run, chunk, batch, report)
                if progress is not None:
                    progress(done + 1, len(tasks), report.events)
        batch.flush()

    # -- writing (inside the update's transaction) ---------------------------------

    def _apply(
        self, run: IndexedRun, chunk: RunChunk, batch: RowBatch, report: UpdateReport
    ) -> None:
        report.runs_loaded += 1
        self._touched.add(run.run_id)
        report.events += chunk.events
        report.bytes_read += chunk.bytes_read
        report.problems.extend(message for _, message in chunk.problems)
        batch.add_chunk(run, chunk)
        if batch.rows >= _INSERT_ROWS:
            # Commit what is complete (rows together with the offsets they came
            # from), so a long cold load does not hold it all in memory.
            batch.flush()
            self._con.execute("COMMIT")
            self._con.execute("BEGIN")

    def _add_run(self, name: str, directory: str) -> IndexedRun:
        run = IndexedRun(self._next_run_id, name, directory)
        self._next_run_id += 1
        self._runs[name] = run
        self._con.execute(
            "INSERT INTO _runs (run_id, name, directory) VALUES (?, ?, ?)",
            [run.run_id, name, directory],
        )
        return run

    def _delete_run(self, run: IndexedRun) -> None:
        for table in (*STEP_TABLES, "_tags", "_files", "_problems", "_runs"):
            self._con.execute(f"DELETE FROM {table} WHERE run_id = ?", [run.run_id])

    def _refresh_hparams(self, run: IndexedRun) -> None:
        """Pick up a Lightning ``hparams.yaml`` beside the run's event files."""
        path = os.path.join(run.directory, "hparams.yaml")
        try:
            mtime = os.stat(path).st_mtime_ns
        except OSError:
            return
        if mtime == run.hparams_mtime:
            return
        run.hparams_mtime = mtime
        from stepscope.store.lightning import read_hparams_yaml

        values = read_hparams_yaml(path)
        self._con.execute(
            "UPDATE _runs SET hparams_file = ?, hparams_file_mtime = ? WHERE run_id = ?",
            [json.dumps(values), mtime, run.run_id],
        )
        self._touched.add(run.run_id)  # a changed hparams.yaml is a change of the index

    # -- reading (for the provider) ------------------------------------------

    # The readers below run in server threads while an update may add runs and
    # tags: each takes a copy in one step (atomic for a dict under the GIL).

    def run_version(self, run_id: int) -> tuple[int, int]:
        """Changes when the run's rows change (after the update that changed them commits)."""
        return (self._epoch, self._run_versions.get(run_id, 0))

    def run_ids(self) -> dict[str, int]:
        return {name: run.run_id for name, run in list(self._runs.items())}

    def tag_infos(self, run: str) -> dict[str, tuple[int, TagInfo]]:
        found = self._runs.get(run)
        return dict(found.tags) if found else {}


def _failed(run: IndexedRun, error: BaseException) -> str:
    return (
        f"run {run.name!r} could not be read ({type(error).__name__}: {error}); "
        "the other runs are loaded; please report this as a bug"
    )


def _infos(run: IndexedRun) -> dict[str, TagInfo]:
    return {tag: info for tag, (_, info) in run.tags.items()}


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
