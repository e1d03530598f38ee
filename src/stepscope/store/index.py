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
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import duckdb
import numpy as np

from stepscope.errors import UsageError
from stepscope.loader.discovery import LogdirSource, discover
from stepscope.loader.model import FileState, TagInfo
from stepscope.warnings import warn_once

if TYPE_CHECKING:
    from stepscope.loader.chunk import RunChunk

# Parsing (protobuf, the vectorized path, worker processes) is imported when
# there is something to read: a warm restart on an unchanged logdir does not
# pay for it.

# 2: the _checkpoints table (an index of version 1 is rebuilt, so checkpoints
# already in the logdir are read).
SCHEMA_VERSION = 2
# Parsing in worker processes pays off past this much new data.
PARALLEL_BYTES = 16 << 20
# Scalar rows gathered before one insert (bigger inserts are faster in DuckDB).
_INSERT_ROWS = 1 << 17

_TABLES = """
CREATE TABLE _meta (key VARCHAR NOT NULL, value VARCHAR);
CREATE TABLE _runs (
    run_id INTEGER NOT NULL, name VARCHAR NOT NULL, directory VARCHAR NOT NULL,
    events BIGINT NOT NULL DEFAULT 0, hparams_file VARCHAR, hparams_file_mtime BIGINT
);
CREATE TABLE _files (
    path VARCHAR NOT NULL, run_id INTEGER NOT NULL, "offset" BIGINT NOT NULL,
    size BIGINT NOT NULL, inode BIGINT NOT NULL, corrupt_records BIGINT NOT NULL,
    reported BOOLEAN NOT NULL
);
CREATE TABLE _tags (
    run_id INTEGER NOT NULL, tag_id INTEGER NOT NULL, tag VARCHAR NOT NULL,
    plugin VARCHAR NOT NULL, metadata BLOB NOT NULL, data_class INTEGER NOT NULL,
    display_name VARCHAR NOT NULL, description VARCHAR NOT NULL
);
CREATE TABLE _scalars (
    run_id INTEGER NOT NULL, tag_id INTEGER NOT NULL, step BIGINT NOT NULL,
    wall_time DOUBLE NOT NULL, value DOUBLE NOT NULL
);
CREATE TABLE _tensors (
    run_id INTEGER NOT NULL, tag_id INTEGER NOT NULL, step BIGINT NOT NULL,
    wall_time DOUBLE NOT NULL, dtype VARCHAR NOT NULL, shape INTEGER[] NOT NULL,
    tensor BLOB NOT NULL
);
CREATE TABLE _blobs (
    run_id INTEGER NOT NULL, tag_id INTEGER NOT NULL, step BIGINT NOT NULL,
    wall_time DOUBLE NOT NULL, "index" INTEGER NOT NULL, path VARCHAR NOT NULL,
    "offset" BIGINT NOT NULL, length BIGINT NOT NULL, width INTEGER NOT NULL,
    height INTEGER NOT NULL, content_type VARCHAR NOT NULL
);
CREATE TABLE _checkpoints (
    run_id INTEGER NOT NULL, step BIGINT NOT NULL, wall_time DOUBLE NOT NULL,
    path VARCHAR NOT NULL, message VARCHAR NOT NULL
);
CREATE TABLE _problems (run_id INTEGER NOT NULL, path VARCHAR NOT NULL, message VARCHAR NOT NULL);
"""

#: The documented views (``docs/store.md``): what ``sql()`` is meant to query.
VIEWS = {
    "runs": """SELECT r.name AS run, r.directory,
        r.events, CAST(COALESCE(f.corrupt_records, 0) AS BIGINT) AS corrupt_records,
        CAST(COALESCE(p.problems, 0) AS BIGINT) AS problems
        FROM _runs r
        LEFT JOIN (SELECT run_id, sum(corrupt_records) AS corrupt_records FROM _files GROUP BY run_id) f USING (run_id)
        LEFT JOIN (SELECT run_id, count(*) AS problems FROM _problems GROUP BY run_id) p USING (run_id)""",
    "tags": """SELECT r.name AS run, t.tag, t.plugin, t.display_name, t.description,
        t.data_class, t.metadata FROM _tags t JOIN _runs r USING (run_id)""",
    "scalars": """SELECT r.name AS run, t.tag, s.step, s.wall_time, s.value
        FROM _scalars s JOIN _runs r USING (run_id) JOIN _tags t USING (run_id, tag_id)""",
    "tensors": """SELECT r.name AS run, t.tag, t.plugin, s.step, s.wall_time, s.dtype, s.shape,
        s.tensor FROM _tensors s JOIN _runs r USING (run_id) JOIN _tags t USING (run_id, tag_id)""",
    "blobs": """SELECT r.name AS run, t.tag, t.plugin, b.step, b.wall_time, b."index", b.path,
        b."offset", b.length, b.width, b.height, b.content_type
        FROM _blobs b JOIN _runs r USING (run_id) JOIN _tags t USING (run_id, tag_id)""",
    "checkpoints": """SELECT r.name AS run, c.step, c.wall_time, c.path, c.message
        FROM _checkpoints c JOIN _runs r USING (run_id)""",
    "problems": """SELECT r.name AS run, p.path, p.message FROM _problems p JOIN _runs r USING (run_id)""",
}


def default_index_path(sources: list[LogdirSource]) -> str:
    """Where the index of ``sources`` lives by default: the user's cache directory."""
    import platformdirs

    key = json.dumps([[source.name, source.path] for source in sources])
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    base = os.path.basename(sources[0].path.rstrip(os.sep)) if sources else "logdir"
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in base)[:40] or "logdir"
    return os.path.join(
        platformdirs.user_cache_dir("stepscope"), "index", f"{safe}-{digest}.duckdb"
    )


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


@dataclass
class _Run:
    run_id: int
    name: str
    directory: str
    tags: dict[str, tuple[int, TagInfo]] = field(default_factory=dict)
    files: dict[str, tuple[FileState, int, int]] = field(default_factory=dict)  # state, size, inode
    hparams_mtime: int | None = None


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
        self._runs: dict[str, _Run] = {}
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
            _refuse_inside_logdir(chosen, sources)
            os.makedirs(os.path.dirname(chosen), exist_ok=True)
        try:
            connection = _connect(chosen, rebuild_allowed=path is None)
        except _LockedError:
            warn_once(
                f"the index {chosen} is in use by another stepscope process; "
                "using a private in-memory index (pass --index PATH to keep one of your own)",
                key=("locked", chosen),
            )
            chosen = ":memory:"
            connection = _connect(chosen, rebuild_allowed=True)
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
            self._runs[name] = _Run(run_id, name, directory, hparams_mtime=mtime)
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
                with _transaction(self._con):
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

    def _plan(self, found: Any, report: UpdateReport) -> list[tuple[_Run, list[FileState], int]]:
        """Register new runs, drop vanished ones, and list the runs with new bytes."""
        for name in [name for name in self._runs if name not in found.runs]:
            self._delete_run(self._runs.pop(name))
            report.removed_runs.append(name)
        tasks = []
        for name, run_files in found.runs.items():
            statuses = {path: _stat(path) for path in run_files.files}
            run = self._runs.get(name)
            if run is None or run.directory != run_files.directory or _replaced(run, statuses):
                # New, moved, or a file of it was replaced or truncated: read it anew.
                if run is not None:
                    self._delete_run(run)
                run = self._add_run(name, run_files.directory)
                report.new_runs.append(name)
            self._refresh_hparams(run)
            states, pending = [], 0
            for path, status in statuses.items():
                known = run.files.get(path)
                state = known[0] if known else FileState(path)
                states.append(state)
                if status is None or status.st_size > state.offset:
                    pending += max((status.st_size if status else 0) - state.offset, 1)
                if known is None and status is not None:
                    run.files[path] = (state, status.st_size, status.st_ino)
            if pending:
                tasks.append((run, states, pending))
        return tasks

    def _run_tasks(
        self,
        tasks: list[tuple[_Run, list[FileState], int]],
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
        batch = _Batch(self)
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

    # -- applying a chunk --------------------------------------------------------

    def _apply(self, run: _Run, chunk: RunChunk, batch: _Batch, report: UpdateReport) -> None:
        self._apply_chunk(run, chunk, batch, report)
        if batch.rows >= _INSERT_ROWS:
            # Commit what is complete (rows together with the offsets they came
            # from), so a long cold load does not hold it all in memory.
            batch.flush()
            self._con.execute("COMMIT")
            self._con.execute("BEGIN")

    def _apply_chunk(self, run: _Run, chunk: RunChunk, batch: _Batch, report: UpdateReport) -> None:
        report.runs_loaded += 1
        self._touched.add(run.run_id)
        report.events += chunk.events
        report.bytes_read += chunk.bytes_read
        if chunk.purges:
            batch.flush()
            step = min(step for _, step in chunk.purges)
            for table in _STEP_TABLES:
                self._con.execute(
                    f"DELETE FROM {table} WHERE run_id = ? AND step >= ?", [run.run_id, step]
                )
        for tag, info in chunk.tags.items():
            if tag not in run.tags:
                tag_id = len(run.tags)
                run.tags[tag] = (tag_id, info)
                batch.tags.append(
                    (
                        run.run_id,
                        tag_id,
                        tag,
                        info.plugin_name,
                        info.content,
                        info.data_class,
                        info.display_name,
                        info.description,
                    )
                )
        if len(chunk.steps):
            ids = np.array([run.tags[name][0] for name in chunk.scalar_tags], dtype=np.int32)
            batch.add_scalars(run.run_id, ids[chunk.scalar_tag], chunk)
        if chunk.tensors:
            from stepscope import tensors
        for _, tag, step, wall, array in chunk.tensors:
            proto = tensors.to_tensor_proto(array)
            batch.tensors.append(
                (
                    run.run_id,
                    run.tags[tag][0],
                    step,
                    wall,
                    tensors.dtype_name(proto.dtype),
                    list(array.shape),
                    proto.SerializeToString(),
                )
            )
        batch.blobs.extend(
            (
                run.run_id,
                run.tags[tag][0],
                step,
                wall,
                index,
                ref.path,
                ref.offset,
                ref.length,
                ref.width,
                ref.height,
                ref.content_type,
            )
            for _, tag, step, wall, index, ref in chunk.blobs
        )
        batch.checkpoints.extend((run.run_id, *row[1:]) for row in chunk.checkpoints)
        for path, message in chunk.problems:
            report.problems.append(message)
            batch.problems.append((run.run_id, path, message))
        for state in chunk.files:
            try:
                status = os.stat(state.path)
                size, inode = status.st_size, status.st_ino
            except OSError:
                size, inode = -1, 0
            run.files[state.path] = (state, size, inode)
            batch.files[state.path] = (
                state.path,
                run.run_id,
                state.offset,
                size,
                inode,
                state.corrupt_records,
                state.reported,
            )
        batch.events[run.run_id] = batch.events.get(run.run_id, 0) + chunk.events

    def _add_run(self, name: str, directory: str) -> _Run:
        run = _Run(self._next_run_id, name, directory)
        self._next_run_id += 1
        self._runs[name] = run
        self._con.execute(
            "INSERT INTO _runs (run_id, name, directory) VALUES (?, ?, ?)",
            [run.run_id, name, directory],
        )
        return run

    def _delete_run(self, run: _Run) -> None:
        for table in (*_STEP_TABLES, "_tags", "_files", "_problems", "_runs"):
            self._con.execute(f"DELETE FROM {table} WHERE run_id = ?", [run.run_id])

    def _refresh_hparams(self, run: _Run) -> None:
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


def _stat(path: str) -> os.stat_result | None:
    try:
        return os.stat(path)
    except OSError:
        return None  # parsing it will say why, once


def _replaced(run: _Run, statuses: dict[str, os.stat_result | None]) -> bool:
    """Whether a file the run was read from now is another file, or shorter than what was read."""
    for path, status in statuses.items():
        known = run.files.get(path)
        if known is not None and status is not None:
            state, _, inode = known
            if status.st_ino != inode or status.st_size < state.offset:
                return True
    return False


def _failed(run: _Run, error: BaseException) -> str:
    return (
        f"run {run.name!r} could not be read ({type(error).__name__}: {error}); "
        "the other runs are loaded; please report this as a bug"
    )


def _infos(run: _Run) -> dict[str, TagInfo]:
    return {tag: info for tag, (_, info) in run.tags.items()}


class _Batch:
    """Rows gathered across runs and written together: DuckDB inserts in bulk far faster."""

    def __init__(self, index: Index) -> None:
        self.index = index
        self.parts: list[dict[str, Any]] = []
        self.rows = 0
        self.tags: list[tuple[Any, ...]] = []
        self.tensors: list[tuple[Any, ...]] = []
        self.blobs: list[tuple[Any, ...]] = []
        self.checkpoints: list[tuple[Any, ...]] = []
        self.problems: list[tuple[Any, ...]] = []
        self.files: dict[str, tuple[Any, ...]] = {}
        self.events: dict[int, int] = {}

    def add_scalars(self, run_id: int, tag_ids: Any, chunk: RunChunk) -> None:
        self.parts.append(
            {
                "run_id": np.full(len(chunk.steps), run_id, dtype=np.int32),
                "tag_id": tag_ids,
                "step": chunk.steps,
                "wall_time": chunk.wall_times,
                "value": chunk.values,
            }
        )
        self.rows += len(chunk.steps)

    def _flush_scalars(self) -> None:
        if not self.parts:
            return
        rows = {name: np.concatenate([part[name] for part in self.parts]) for name in self.parts[0]}
        self.parts, self.rows = [], 0
        self._insert("_scalars", rows)

    def _insert(self, table: str, rows: dict[str, Any]) -> None:
        """Insert columns (a dict of equally long numpy arrays) into ``table``."""
        # DuckDB reads a NaN in a numpy array as NULL (pandas' convention);
        # the arrays never hold a real NULL, so a NULL there was a NaN.
        select = ", ".join(
            f"""COALESCE("{name}", 'NaN'::DOUBLE)"""
            if getattr(column, "dtype", None) is not None and column.dtype.kind == "f"
            else f'"{name}"'
            for name, column in rows.items()
        )
        with _registered(self.index._con, rows) as con:
            con.execute(f"INSERT INTO {table} SELECT {select} FROM _new_rows")

    def flush(self) -> None:
        self._flush_scalars()
        for table, rows, columns in (
            ("_tags", self.tags, _TAG_COLUMNS),
            ("_tensors", self.tensors, _TENSOR_COLUMNS),
            ("_blobs", self.blobs, _BLOB_COLUMNS),
            ("_checkpoints", self.checkpoints, ["run_id", "step", "wall_time", "path", "message"]),
            ("_problems", self.problems, ["run_id", "path", "message"]),
        ):
            if rows:
                self._insert(table, _columns(rows, columns))
                rows.clear()
        if self.files:
            files = _columns(list(self.files.values()), _FILE_COLUMNS)
            with _registered(self.index._con, files) as con:
                con.execute("DELETE FROM _files WHERE path IN (SELECT path FROM _new_rows)")
                con.execute("INSERT INTO _files SELECT * FROM _new_rows")
            self.files.clear()
        if self.events:
            events = _columns(list(self.events.items()), ["run_id", "events"])
            with _registered(self.index._con, events) as con:
                con.execute(
                    "UPDATE _runs SET events = _runs.events + n.events FROM _new_rows n "
                    "WHERE _runs.run_id = n.run_id"
                )
            self.events.clear()


@contextmanager
def _registered(
    con: duckdb.DuckDBPyConnection, rows: dict[str, Any]
) -> Iterator[duckdb.DuckDBPyConnection]:
    """``rows`` visible to queries as ``_new_rows`` for the duration."""
    con.register("_new_rows", rows)
    try:
        yield con
    finally:
        # After a failed statement the transaction is aborted and unregistering
        # fails too; that second error must not hide the first.
        with suppress(duckdb.Error):
            con.unregister("_new_rows")


def _columns(rows: list[tuple[Any, ...]], names: list[str]) -> dict[str, Any]:
    """Rows as named columns (numpy arrays; object arrays for text, bytes and lists)."""
    columns: dict[str, Any] = {}
    for name, values in zip(names, zip(*rows, strict=True), strict=True):
        column = np.empty(len(values), dtype=object)
        column[:] = values
        if all(isinstance(v, bool) for v in values):
            column = column.astype(bool)
        elif all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            column = column.astype(np.int64)
        elif all(isinstance(v, float | int) and not isinstance(v, bool) for v in values):
            column = column.astype(np.float64)
        columns[name] = column
    return columns


# The tables of rows at a step: a purge (a restart at step S) drops a run's rows at S or later.
_STEP_TABLES = ("_scalars", "_tensors", "_blobs", "_checkpoints")
_TAG_COLUMNS = [
    "run_id",
    "tag_id",
    "tag",
    "plugin",
    "metadata",
    "data_class",
    "display_name",
    "description",
]
_TENSOR_COLUMNS = ["run_id", "tag_id", "step", "wall_time", "dtype", "shape", "tensor"]
_BLOB_COLUMNS = [
    "run_id",
    "tag_id",
    "step",
    "wall_time",
    "index",
    "path",
    "offset",
    "length",
    "width",
    "height",
    "content_type",
]
_FILE_COLUMNS = ["path", "run_id", "offset", "size", "inode", "corrupt_records", "reported"]


class _LockedError(Exception):
    pass


def _connect(path: str, rebuild_allowed: bool) -> duckdb.DuckDBPyConnection:
    try:
        connection = duckdb.connect(path)
    except duckdb.Error as error:
        if isinstance(error, duckdb.IOException) and "lock" in str(error).lower():
            raise _LockedError from error
        if not rebuild_allowed:
            reason = " ".join(str(error).split())
            raise UsageError(
                f"{path} is not a stepscope index ({reason}); pass another --index path"
            ) from error
        # In the default location: an index of an older DuckDB, or damaged. Rebuild it.
        _remove(path)
        try:
            connection = duckdb.connect(path)
        except duckdb.Error as again:
            reason = " ".join(str(again).split())
            raise UsageError(
                f"cannot create the index {path} ({reason}); pass --index a writable path"
            ) from again
    tables = {
        row[0]
        for row in connection.execute("SELECT table_name FROM information_schema.tables").fetchall()
    }
    version = None
    if "_meta" in tables:
        found = connection.execute(
            "SELECT value FROM _meta WHERE key = 'schema_version'"
        ).fetchone()
        version = found[0] if found else None
    elif tables and not rebuild_allowed:
        connection.close()
        raise UsageError(
            f"{path} is a database but not a stepscope index; pass another --index path"
        )
    if version != str(SCHEMA_VERSION):
        if tables:
            # Written by another version of stepscope: rebuild from the logdir.
            connection.close()
            _remove(path)
            connection = duckdb.connect(path)
        _create(connection)
    return connection


def _create(connection: duckdb.DuckDBPyConnection) -> None:
    connection.execute("BEGIN")
    connection.execute(_TABLES)
    for name, query in VIEWS.items():
        connection.execute(f"CREATE VIEW {name} AS {query}")
    connection.execute("INSERT INTO _meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])
    connection.execute("COMMIT")


def _remove(path: str) -> None:
    if path == ":memory:":
        return
    for name in (path, path + ".wal"):
        with suppress(FileNotFoundError):
            os.remove(name)


def _refuse_inside_logdir(path: str, sources: Iterable[LogdirSource]) -> None:
    real = os.path.realpath(path)
    for source in sources:
        root = os.path.realpath(source.path)
        if real == root or real.startswith(root.rstrip(os.sep) + os.sep):
            raise UsageError(
                f"the index {path} would be inside the logdir {source.path}, and stepscope never "
                "writes into a logdir it reads; pass --index a path outside it"
            )


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@contextmanager
def _transaction(connection: duckdb.DuckDBPyConnection) -> Iterator[None]:
    connection.execute("BEGIN")
    try:
        yield
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")
