"""The index's database file: its tables, its documented views, and opening it.

The tables are private (their names start with ``_``); :data:`VIEWS` are
the documented, stable way to query them with SQL (``docs/store.md``).
:func:`connect` opens a database file and rebuilds it when another schema
version (or another DuckDB) wrote it.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from contextlib import suppress

import duckdb

from stepscope.errors import UsageError
from stepscope.loader.discovery import LogdirSource

# 2: the _checkpoints table (an index of version 1 is rebuilt, so checkpoints
# already in the logdir are read).
# 3: graphs (graph_def and tagged_run_metadata events, TF2 run metadata, Keras
# model configs) kept as blob references (an index of version 2 is rebuilt, so
# graphs already in the logdir are read).
SCHEMA_VERSION = 3

TABLES = """
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

# The tables of rows at a step: a purge (a restart at step S) drops a run's rows at S or later.
STEP_TABLES = ("_scalars", "_tensors", "_blobs", "_checkpoints")


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


class IndexLockedError(Exception):
    """Another process holds the database file open."""


def connect(path: str, rebuild_allowed: bool) -> duckdb.DuckDBPyConnection:
    """Open the index at ``path``, creating its tables, or rebuilding an index of another version.

    ``rebuild_allowed`` is false for a path the user chose: a file there that is
    not a stepscope index is a usage error rather than something to delete.
    """
    try:
        connection = duckdb.connect(path)
    except duckdb.Error as error:
        if isinstance(error, duckdb.IOException) and "lock" in str(error).lower():
            raise IndexLockedError from error
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
    connection.execute(TABLES)
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


def refuse_inside_logdir(path: str, sources: Iterable[LogdirSource]) -> None:
    """Raise :class:`UsageError` if ``path`` is inside one of ``sources``."""
    real = os.path.realpath(path)
    for source in sources:
        root = os.path.realpath(source.path)
        if real == root or real.startswith(root.rstrip(os.sep) + os.sep):
            raise UsageError(
                f"the index {path} would be inside the logdir {source.path}, and stepscope never "
                "writes into a logdir it reads; pass --index a path outside it"
            )
