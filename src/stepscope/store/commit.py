"""Writing parsed chunks into the index's tables.

Rows are gathered across runs in a :class:`RowBatch` and inserted together,
because DuckDB inserts in bulk far faster than row by row. A chunk's rows and
the file offsets they were read up to go into the same batch, so whatever is
committed is consistent: a file's offset never runs ahead of its rows.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, Any

import duckdb
import numpy as np

from stepscope.store.planning import IndexedRun
from stepscope.store.schema import STEP_TABLES

if TYPE_CHECKING:
    from stepscope.loader.chunk import RunChunk

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


class RowBatch:
    """Rows gathered across runs and written together: DuckDB inserts in bulk far faster."""

    def __init__(self, connection: duckdb.DuckDBPyConnection) -> None:
        self.connection = connection
        self.parts: list[dict[str, Any]] = []
        self.rows = 0
        self.tags: list[tuple[Any, ...]] = []
        self.tensors: list[tuple[Any, ...]] = []
        self.blobs: list[tuple[Any, ...]] = []
        self.checkpoints: list[tuple[Any, ...]] = []
        self.problems: list[tuple[Any, ...]] = []
        self.files: dict[str, tuple[Any, ...]] = {}
        self.events: dict[int, int] = {}

    # -- gathering ---------------------------------------------------------------

    def add_chunk(self, run: IndexedRun, chunk: RunChunk) -> None:
        """Gather the rows of ``chunk`` (parsed from ``run``'s files); new tags join ``run``."""
        if chunk.purges:
            self.flush()
            step = min(step for _, step in chunk.purges)
            for table in STEP_TABLES:
                self.connection.execute(
                    f"DELETE FROM {table} WHERE run_id = ? AND step >= ?", [run.run_id, step]
                )
        self._add_tags(run, chunk)
        if len(chunk.steps):
            ids = np.array([run.tags[name][0] for name in chunk.scalar_tags], dtype=np.int32)
            self._add_scalars(run.run_id, ids[chunk.scalar_tag], chunk)
        self._add_tensors(run, chunk)
        self._add_blobs(run, chunk)
        self.checkpoints.extend((run.run_id, *row[1:]) for row in chunk.checkpoints)
        for path, message in chunk.problems:
            self.problems.append((run.run_id, path, message))
        self._add_files(run, chunk)
        self.events[run.run_id] = self.events.get(run.run_id, 0) + chunk.events

    def _add_tags(self, run: IndexedRun, chunk: RunChunk) -> None:
        for tag, info in chunk.tags.items():
            if tag not in run.tags:
                tag_id = len(run.tags)
                run.tags[tag] = (tag_id, info)
                self.tags.append(
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

    def _add_scalars(self, run_id: int, tag_ids: Any, chunk: RunChunk) -> None:
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

    def _add_tensors(self, run: IndexedRun, chunk: RunChunk) -> None:
        if not chunk.tensors:
            return
        from stepscope import tensors

        for _, tag, step, wall, array in chunk.tensors:
            proto = tensors.to_tensor_proto(array)
            self.tensors.append(
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

    def _add_blobs(self, run: IndexedRun, chunk: RunChunk) -> None:
        self.blobs.extend(
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

    def _add_files(self, run: IndexedRun, chunk: RunChunk) -> None:
        for state in chunk.files:
            try:
                status = os.stat(state.path)
                size, inode = status.st_size, status.st_ino
            except OSError:
                size, inode = -1, 0
            run.files[state.path] = (state, size, inode)
            self.files[state.path] = (
                state.path,
                run.run_id,
                state.offset,
                size,
                inode,
                state.corrupt_records,
                state.reported,
            )

    # -- writing -------------------------------------------------------------------

    def flush(self) -> None:
        """Insert everything gathered (inside the caller's transaction)."""
        self._flush_scalars()
        for table, rows, columns in (
            ("_tags", self.tags, _TAG_COLUMNS),
            ("_tensors", self.tensors, _TENSOR_COLUMNS),
            ("_blobs", self.blobs, _BLOB_COLUMNS),
            ("_checkpoints", self.checkpoints, ["run_id", "step", "wall_time", "path", "message"]),
            ("_problems", self.problems, ["run_id", "path", "message"]),
        ):
            if rows:
                self._insert(table, as_columns(rows, columns))
                rows.clear()
        if self.files:
            files = as_columns(list(self.files.values()), _FILE_COLUMNS)
            with registered(self.connection, files) as con:
                con.execute("DELETE FROM _files WHERE path IN (SELECT path FROM _new_rows)")
                con.execute("INSERT INTO _files SELECT * FROM _new_rows")
            self.files.clear()
        if self.events:
            events = as_columns(list(self.events.items()), ["run_id", "events"])
            with registered(self.connection, events) as con:
                con.execute(
                    "UPDATE _runs SET events = _runs.events + n.events FROM _new_rows n "
                    "WHERE _runs.run_id = n.run_id"
                )
            self.events.clear()

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
        with registered(self.connection, rows) as con:
            con.execute(f"INSERT INTO {table} SELECT {select} FROM _new_rows")


@contextmanager
def registered(
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


def as_columns(rows: list[tuple[Any, ...]], names: list[str]) -> dict[str, Any]:
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


@contextmanager
def transaction(connection: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """``BEGIN`` ... ``COMMIT``, or ``ROLLBACK`` and re-raise."""
    connection.execute("BEGIN")
    try:
        yield
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")
