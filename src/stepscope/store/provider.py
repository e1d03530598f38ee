"""The data interface: the one way the server, the Python API and the CLI read an index.

Every read goes through a :class:`DataProvider`: list runs (with their
problems and counts), list tags per plugin, read a scalar series (with
spike-preserving downsampling), read tensors, list blobs and read one, read
hyperparameters, list checkpoints. Unknown runs and tags raise
:class:`~stepscope.errors.NotFoundError`; bad arguments raise
:class:`~stepscope.errors.UsageError`. ``docs/store.md`` documents it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    import pandas as pd
    from google.protobuf import struct_pb2

from stepscope.errors import NotFoundError, UsageError
from stepscope.loader.model import BlobRef, TagInfo
from stepscope.store.downsample import keep_spikes_many
from stepscope.store.index import Index, UpdateReport
from stepscope.store.scalar_cache import ScalarCache

#: The plugins whose values are kept as scalars and as blobs; everything else is a tensor.
SCALAR_PLUGINS = frozenset({"scalars"})
BLOB_PLUGINS = frozenset({"images", "audio"})
HPARAMS_TAG = "_hparams_/session_start_info"


@dataclass(frozen=True)
class RunInfo:
    """A run, how much of it was read and what went wrong (``problems``: one line per file)."""

    name: str
    directory: str
    events: int
    corrupt_records: int
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class TagSummary:
    """A tag of a run, with its metadata (from the tag's first occurrence) and how many points."""

    run: str
    tag: str
    info: TagInfo
    points: int | None  # None when not counted (``tags(count_points=False)``)

    @property
    def plugin(self) -> str:
        return self.info.plugin_name


@dataclass(frozen=True)
class ScalarSeries:
    """A scalar series ordered by step (values logged twice at one step are all kept, in log order)."""

    steps: npt.NDArray[np.int64]
    wall_times: npt.NDArray[np.float64]
    values: npt.NDArray[np.float64]
    total: int  # points in the full series, before downsampling


@dataclass(frozen=True)
class TensorPoint:
    step: int
    wall_time: float
    value: npt.NDArray[Any]


@dataclass(frozen=True)
class BlobPoint:
    """An image or audio clip: where its bytes are, read with :meth:`DataProvider.blob`."""

    step: int
    wall_time: float
    index: int
    ref: BlobRef


@dataclass(frozen=True)
class Checkpoint:
    """A checkpoint saved during a run: a ``SessionLog CHECKPOINT`` event's step, time and path."""

    run: str
    step: int
    wall_time: float
    path: str


class DataProvider:
    """Reads an :class:`~stepscope.store.index.Index`; safe to use from several threads."""

    def __init__(self, index: Index, cache_bytes: int = 1 << 30) -> None:
        self.index = index
        #: Whole scalar series read for charts are kept in memory (up to
        #: ``cache_bytes``, least recently used out first) until their run
        #: changes, so a chart, its zoom or a page reload reads them once.
        self.scalar_cache = ScalarCache(index, cache_bytes)

    # -- runs and tags -------------------------------------------------------

    def update(self, progress: Callable[[int, int, int], None] | None = None) -> UpdateReport:
        """Read what is new in the logdir into the index (see :meth:`Index.update`)."""
        return self.index.update(progress=progress)

    def runs(self) -> list[RunInfo]:
        cursor = self.index.cursor()
        problems: dict[str, list[str]] = {}
        for run, message in cursor.execute(
            "SELECT run, message FROM problems ORDER BY run"
        ).fetchall():
            problems.setdefault(run, []).append(message)
        rows = cursor.execute(
            "SELECT run, directory, events, corrupt_records FROM runs ORDER BY run"
        ).fetchall()
        return [
            RunInfo(name, directory, int(events), int(corrupt), problems.get(name, []))
            for name, directory, events, corrupt in rows
        ]

    def tags(
        self, plugin: str | None = None, run: str | None = None, *, count_points: bool = True
    ) -> list[TagSummary]:
        """Tags (of one plugin, of one run, or all), ordered by run then tag.

        Counting the points scans every table; ``count_points=False`` skips
        it (``points`` is then ``None``) for callers that only pick series.
        """
        if run is not None:
            self._run_id(run)
        counts: dict[tuple[int, int], int] = {}
        if count_points:
            cursor = self.index.cursor()
            for table in ("_scalars", "_tensors", "_blobs"):
                for run_id, tag_id, count in cursor.execute(
                    f"SELECT run_id, tag_id, count(*) FROM {table} GROUP BY ALL"
                ).fetchall():
                    counts[(run_id, tag_id)] = counts.get((run_id, tag_id), 0) + int(count)
        found = []
        for name, run_id in sorted(self.index.run_ids().items()):
            if run is not None and name != run:
                continue
            for tag, (tag_id, info) in sorted(self.index.tag_infos(name).items()):
                if plugin is None or info.plugin_name == plugin:
                    points = counts.get((run_id, tag_id), 0) if count_points else None
                    found.append(TagSummary(name, tag, info, points))
        return found

    def plugin_names(self) -> set[str]:
        """The plugin names of every tag's metadata (what kinds the logdir holds)."""
        rows = self.index.cursor().execute("SELECT DISTINCT plugin FROM tags").fetchall()
        return {str(plugin) for (plugin,) in rows}

    def problems(self, run: str | None = None) -> list[tuple[str, str, str]]:
        """``(run, file, message)`` for every problem met, one per file."""
        query = "SELECT run, path, message FROM problems"
        rows = self.index.cursor().execute(query + " ORDER BY run, path").fetchall()
        return [(r, path, message) for r, path, message in rows if run is None or r == run]

    # -- values ----------------------------------------------------------------

    def scalars(self, run: str, tag: str, max_points: int | None = None) -> ScalarSeries:
        """One scalar series; at most ``max_points`` points, spikes kept (see ``downsample``)."""
        [(_, series)] = self.scalars_of_tag(tag, [run], max_points)
        return series

    def scalars_of_tag(
        self,
        tag: str,
        runs: list[str] | None = None,
        max_points: int | None = None,
        min_step: int | None = None,
        max_step: int | None = None,
    ) -> list[tuple[str, ScalarSeries]]:
        """One tag for many runs (every run that has it if ``runs`` is None), in one query.

        ``min_step``/``max_step`` (inclusive) cut each series to a step range
        before downsampling to ``max_points``: that is how a zoomed chart gets
        its detail. ``total`` counts the points in the range. A named run
        without the tag raises :class:`NotFoundError`.
        """
        _check_max_points(max_points)
        wanted: dict[tuple[int, int], str] = {}
        run_ids = self.index.run_ids()
        if runs is None:
            for name, run_id in sorted(run_ids.items()):
                found = self.index.tag_infos(name).get(tag)
                if found is not None and found[1].plugin_name in SCALAR_PLUGINS:
                    wanted[(run_id, found[0])] = name
        else:
            for name in runs:
                run_id = self._run_id(name)
                found = self.index.tag_infos(name).get(tag)
                if found is None or found[1].plugin_name not in SCALAR_PLUGINS:
                    raise NotFoundError(f"run {name!r} has no scalar tag {tag!r}")
                wanted[(run_id, found[0])] = name
        if not wanted:
            return []
        series = self.scalar_cache.series(list(wanted))
        empty = np.zeros(0, np.int64), np.zeros(0, np.float64), np.zeros(0, np.float64)
        pieces = []
        for key in wanted:
            steps, walls, values = series.get(key, empty)
            if min_step is not None or max_step is not None:
                low = 0 if min_step is None else np.searchsorted(steps, min_step, "left")
                high = len(steps) if max_step is None else np.searchsorted(steps, max_step, "right")
                steps, walls, values = steps[low:high], walls[low:high], values[low:high]
            pieces.append((steps, walls, values))
        lengths = [len(p[0]) for p in pieces]
        if max_points is None or max(lengths) <= max_points:
            return [
                (name, ScalarSeries(s, w, v, len(s)))
                for name, (s, w, v) in zip(wanted.values(), pieces, strict=True)
            ]
        bounds = np.r_[0, np.cumsum(lengths)].astype(np.int64)
        all_steps = np.concatenate([p[0] for p in pieces])
        all_values = np.concatenate([p[2] for p in pieces])
        all_walls = np.concatenate([p[1] for p in pieces])
        kept = keep_spikes_many(bounds, all_steps, all_values, max_points)
        cut = np.searchsorted(kept, bounds)
        result = []
        for i, name in enumerate(wanted.values()):
            chosen = kept[cut[i] : cut[i + 1]]
            result.append(
                (
                    name,
                    ScalarSeries(
                        all_steps[chosen], all_walls[chosen], all_values[chosen], lengths[i]
                    ),
                )
            )
        return result

    def warm(self) -> None:
        """Read every scalar series into memory if they fit in half of the cache (the server calls this)."""
        self.scalar_cache.warm()

    def scalar_frame(self, series: list[tuple[str, str]]) -> pd.DataFrame:
        """These ``(run, tag)`` scalar series as one DataFrame (run, tag, step, wall_time, value)."""
        cursor = self.index.cursor()
        cursor.register("_wanted", _pandas().DataFrame(series, columns=["run", "tag"]))
        query = (
            "SELECT run, tag, step, wall_time, value FROM scalars "
            "SEMI JOIN _wanted USING (run, tag) ORDER BY run, tag, step"
        )
        return cursor.execute(query).df()

    def tensors(
        self, run: str, tag: str, max_points: int | None = None, step: int | None = None
    ) -> list[TensorPoint]:
        """The tensor values of a tag by step, in logged order within a step.

        ``max_points`` keeps that many, evenly spaced, first and last kept;
        ``step`` only that step's.
        """
        _check_max_points(max_points)
        run_id, tag_id = self._tag_id(run, tag)
        at_step = "" if step is None else " AND step = ?"
        rows = (
            self.index.cursor()
            .execute(
                "SELECT step, wall_time, tensor FROM _tensors WHERE run_id = ? AND tag_id = ?"
                f"{at_step} ORDER BY step, rowid",
                [run_id, tag_id] + ([] if step is None else [step]),
            )
            .fetchall()
        )
        if max_points is not None and len(rows) > max_points:
            picked = np.unique(np.linspace(0, len(rows) - 1, max_points).round().astype(int))
            rows = [rows[i] for i in picked.tolist()]
        return [TensorPoint(int(step), float(wall), _decode(tensor)) for step, wall, tensor in rows]

    def tensor_steps(self, run: str, tag: str) -> list[int]:
        """The steps at which a tag has tensors, ascending (without reading them)."""
        run_id, tag_id = self._tag_id(run, tag)
        rows = (
            self.index.cursor()
            .execute(
                "SELECT DISTINCT step FROM _tensors WHERE run_id = ? AND tag_id = ? ORDER BY step",
                [run_id, tag_id],
            )
            .fetchall()
        )
        return [int(step) for (step,) in rows]

    def blobs(self, run: str, tag: str, step: int | None = None) -> list[BlobPoint]:
        """The images or audio clips of a tag, or of one of its steps (references; :meth:`blob` reads the bytes)."""
        run_id, tag_id = self._tag_id(run, tag)
        at_step = "" if step is None else " AND step = ?"
        rows = (
            self.index.cursor()
            .execute(
                'SELECT step, wall_time, "index", path, "offset", length, width, height, '
                f"content_type FROM _blobs WHERE run_id = ? AND tag_id = ?{at_step} "
                'ORDER BY step, rowid, "index"',
                [run_id, tag_id] + ([] if step is None else [step]),
            )
            .fetchall()
        )
        return [
            BlobPoint(
                int(step),
                float(wall),
                int(index),
                BlobRef(path, offset, length, width, height, kind),
            )
            for step, wall, index, path, offset, length, width, height, kind in rows
        ]

    def blob_point(self, run: str, tag: str, step: int, index: int = 0) -> BlobPoint:
        """Where one image or audio clip is (the last one logged at ``step`` and ``index``)."""
        matches = [p for p in self.blobs(run, tag, step) if p.index == index]
        if not matches:
            raise NotFoundError(f"run {run!r} has no {tag!r} at step {step} (index {index})")
        return matches[-1]

    def blob(self, run: str, tag: str, step: int, index: int = 0) -> bytes:
        """The bytes of one image or audio clip (the last one logged at ``step``)."""
        return self.read_blob(run, tag, step, self.blob_point(run, tag, step, index).ref)

    def read_blob(self, run: str, tag: str, step: int, ref: BlobRef) -> bytes:
        """The bytes ``ref`` points at; a file gone or changed since is a :class:`NotFoundError`."""
        try:
            return ref.read()
        except OSError as error:
            raise NotFoundError(
                f"the event file holding {tag!r} at step {step} of run {run!r} is gone or "
                f"changed ({error.strerror or error}); reload the logdir"
            ) from error

    def hparams(self) -> list[tuple[str, dict[str, Any]]]:
        """``(run, hyperparameters)`` for each run that has some (hparams plugin or Lightning file)."""
        cursor = self.index.cursor()
        found: dict[str, dict[str, Any]] = {}
        for run, text in cursor.execute(
            "SELECT name, hparams_file FROM _runs WHERE hparams_file IS NOT NULL ORDER BY name"
        ).fetchall():
            found[run] = dict(json.loads(text))
        for run, metadata in cursor.execute(
            "SELECT run, metadata FROM tags WHERE plugin = 'hparams' AND tag = ?", [HPARAMS_TAG]
        ).fetchall():
            found.setdefault(run, {}).update(_session_hparams(bytes(metadata)))
        return sorted(found.items())

    def checkpoints(self, run: str | None = None) -> list[Checkpoint]:
        """The checkpoints of one run (or of every run), by run, then step, then logged order.

        One per ``SessionLog CHECKPOINT`` event; a restart at step S (``SessionLog
        START``) drops the earlier ones at S or later, as it drops values. A run
        without checkpoints gives ``[]``; an unknown run raises :class:`NotFoundError`.

        Example::

            for found in provider.checkpoints("train"):
                print(found.step, found.path)  # 1000 /runs/train/ckpt-1000.pt
        """
        where, parameters = "", []
        if run is not None:
            where, parameters = " WHERE run_id = ?", [self._run_id(run)]
        rows = (
            self.index.cursor()
            .execute(
                "SELECT r.name, c.step, c.wall_time, c.path FROM _checkpoints c "
                f"JOIN _runs r USING (run_id){where} ORDER BY r.name, c.step, c.rowid",
                parameters,
            )
            .fetchall()
        )
        return [Checkpoint(name, int(step), float(wall), path) for name, step, wall, path in rows]

    def last_scalars(self) -> pd.DataFrame:
        """The last value of every scalar series (highest step, last logged): run, tag, value."""
        return (
            self.index.cursor()
            .execute(
                "SELECT r.name AS run, t.tag, arg_max(s.value, (s.step, s.rowid)) AS value "
                "FROM _scalars s JOIN _runs r USING (run_id) JOIN _tags t USING (run_id, tag_id) "
                "GROUP BY ALL ORDER BY run, tag"
            )
            .df()
        )

    def forbid_external_access(self) -> None:
        """From now on no query of this index may read files, URLs or extensions (the server's lock).

        DuckDB's setting holds for the whole database and cannot be undone
        while it is open; reading and updating the index need no external access.
        """
        self.index.cursor().execute("SET enable_external_access = false")

    def sql(self, query: str, parameters: list[Any] | None = None) -> pd.DataFrame:
        """Run a query over the documented views (``runs``, ``tags``, ``scalars``...)."""
        return self.index.cursor().execute(query, parameters or []).df()

    # -- lookups -----------------------------------------------------------------

    def _run_id(self, run: str) -> int:
        run_id = self.index.run_ids().get(run)
        if run_id is None:
            raise NotFoundError(f"no run named {run!r} in this logdir")
        return run_id

    def tag_info(self, run: str, tag: str) -> TagInfo:
        """A tag's metadata (its plugin, display name...); an unknown run or tag is a NotFoundError."""
        return self._tag(run, tag)[1]

    def _tag_id(self, run: str, tag: str) -> tuple[int, int]:
        return self._tag(run, tag)[0]

    def _tag(self, run: str, tag: str) -> tuple[tuple[int, int], TagInfo]:
        run_id = self._run_id(run)
        found = self.index.tag_infos(run).get(tag)
        if found is None:
            raise NotFoundError(f"run {run!r} has no tag {tag!r}")
        return (run_id, found[0]), found[1]


def _check_max_points(max_points: int | None) -> None:
    if max_points is not None and max_points < 1:
        raise UsageError(f"max_points must be a positive number, not {max_points}")


def _decode(serialized: bytes) -> npt.NDArray[Any]:
    from stepscope import tensors
    from stepscope.proto import tensor_pb2

    return tensors.to_numpy(tensor_pb2.TensorProto.FromString(serialized))


def _session_hparams(content: bytes) -> dict[str, Any]:
    from stepscope.proto import plugin_hparams_pb2

    data = plugin_hparams_pb2.HParamsPluginData.FromString(content)
    values: dict[str, Any] = {}
    for name, value in data.session_start_info.hparams.items():
        values[name] = _plain(value)
    return values


def _plain(value: struct_pb2.Value) -> Any:
    kind = value.WhichOneof("kind")
    if kind == "number_value":
        return value.number_value
    if kind == "string_value":
        return value.string_value
    if kind == "bool_value":
        return value.bool_value
    return None


def _pandas() -> Any:
    """pandas, imported on first use (opening and updating an index does not need it)."""
    import pandas

    return pandas
