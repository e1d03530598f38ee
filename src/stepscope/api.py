"""The Python read API: ``stepscope.open(logdir)`` and DataFrames of everything in it.

Example::

    import stepscope

    with stepscope.open("runs") as logdir:
        df = logdir.scalars(tag="loss")          # run, tag, step, wall_time, value
        df.pivot_table(index="step", columns="run", values="value").plot()
        logdir.hparams()                          # one row per run
        logdir.sql("SELECT run, max(value) FROM scalars WHERE tag = 'acc' GROUP BY run")

Everything is read through the index (``docs/store.md``): the first open
reads the logdir (in parallel, at full resolution) into a DuckDB file in
the user's cache directory; later opens read only what was appended.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from stepscope.plugins.graphs.read import Graph

from stepscope.errors import UsageError
from stepscope.loader.discovery import check_sources, parse_logdir_spec
from stepscope.loader.model import sniff_content_type
from stepscope.store.index import Index, UpdateReport
from stepscope.store.provider import DataProvider

Filter = str | re.Pattern[str] | Iterable[str] | None


def open(logdir: str, index: str | None = None, *, update: bool = True) -> Logdir:
    """Open a logdir (or TensorBoard's ``name:path,...`` spec) for reading.

    ``index`` is where the index lives (default: the user's cache directory);
    ``update=False`` reads the index as it is, without looking at the logdir.
    """
    sources = parse_logdir_spec(logdir)
    if not sources:
        raise UsageError("no logdir given; pass a directory, e.g. stepscope.open('runs')")
    check_sources(sources)  # before an index is made for a logdir that is not there
    opened = Logdir(Index.open(sources, index))
    if update:
        try:
            opened.refresh()
        except BaseException:
            opened.close()
            raise
    return opened


class Logdir:
    """An opened logdir. ``run`` and ``tag`` filters take a name, a list of names, or a compiled regex."""

    def __init__(self, index: Index) -> None:
        self.index = index
        self.data = DataProvider(index)
        self.last_update: UpdateReport | None = None

    def __enter__(self) -> Logdir:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self.index.close()

    def refresh(self) -> UpdateReport:
        """Read what was appended to the logdir since the last look."""
        self.last_update = self.data.update()
        return self.last_update

    # -- listings ----------------------------------------------------------------

    def runs(self) -> pd.DataFrame:
        """One row per run: run, directory, events, corrupt_records, problems (messages)."""
        rows = [
            {
                "run": run.name,
                "directory": run.directory,
                "events": run.events,
                "corrupt_records": run.corrupt_records,
                "problems": run.problems,
            }
            for run in self.data.runs()
        ]
        return _pandas().DataFrame(
            rows, columns=["run", "directory", "events", "corrupt_records", "problems"]
        )

    def tags(self, plugin: str | None = None) -> pd.DataFrame:
        """One row per (run, tag): run, tag, plugin, points, display_name, description."""
        rows = [
            {
                "run": t.run,
                "tag": t.tag,
                "plugin": t.plugin,
                "points": t.points,
                "display_name": t.info.display_name,
                "description": t.info.description,
            }
            for t in self.data.tags(plugin)
        ]
        columns = ["run", "tag", "plugin", "points", "display_name", "description"]
        return _pandas().DataFrame(rows, columns=columns)

    def problems(self) -> pd.DataFrame:
        """Every problem met while reading: run, path, message (one per file)."""
        return _pandas().DataFrame(self.data.problems(), columns=["run", "path", "message"])

    # -- values --------------------------------------------------------------------

    def scalars(self, run: Filter = None, tag: Filter = None) -> pd.DataFrame:
        """Every scalar at full resolution: run, tag, step, wall_time, value."""
        frame = self.data.scalar_frame(self.series("scalars", run, tag))
        return frame.reset_index(drop=True)

    def histograms(self, run: Filter = None, tag: Filter = None) -> pd.DataFrame:
        """One row per histogram: run, tag, step, wall_time, count, min, max, buckets.

        ``buckets`` is a ``[k, 3]`` array of ``(left, right, count)`` rows.
        """
        rows = []
        for run_name, tag_name in self.series("histograms", run, tag):
            for point in self.data.tensors(run_name, tag_name):
                buckets = np.asarray(point.value, dtype=np.float64).reshape(-1, 3)
                rows.append(
                    {
                        "run": run_name,
                        "tag": tag_name,
                        "step": point.step,
                        "wall_time": point.wall_time,
                        "count": float(buckets[:, 2].sum()),
                        "min": float(buckets[0, 0]) if len(buckets) else np.nan,
                        "max": float(buckets[-1, 1]) if len(buckets) else np.nan,
                        "buckets": buckets,
                    }
                )
        columns = ["run", "tag", "step", "wall_time", "count", "min", "max", "buckets"]
        return _pandas().DataFrame(rows, columns=columns)

    def images(
        self, run: Filter = None, tag: Filter = None, *, as_pil: bool = False
    ) -> pd.DataFrame:
        """One row per image: run, tag, step, wall_time, index, width, height, image.

        ``image`` is the encoded bytes (PNG, GIF...), or a ``PIL.Image`` with
        ``as_pil=True``. Bytes are read from the event files now; filter by
        run and tag to read less.
        """
        return self._blobs("images", run, tag, as_pil)

    def audio(self, run: Filter = None, tag: Filter = None) -> pd.DataFrame:
        """One row per audio clip: run, tag, step, wall_time, index, content_type, audio (bytes)."""
        frame = self._blobs("audio", run, tag, False).rename(columns={"image": "audio"})
        return frame.drop(columns=["width", "height"])

    def _blobs(self, plugin: str, run: Filter, tag: Filter, as_pil: bool) -> pd.DataFrame:
        rows = []
        for run_name, tag_name in self.series(plugin, run, tag):
            for point in self.data.blobs(run_name, tag_name):
                raw = point.ref.read()
                data: Any = raw
                if as_pil:
                    import io

                    from PIL import Image

                    data = Image.open(io.BytesIO(data))
                rows.append(
                    {
                        "run": run_name,
                        "tag": tag_name,
                        "step": point.step,
                        "wall_time": point.wall_time,
                        "index": point.index,
                        "width": point.ref.width,
                        "height": point.ref.height,
                        "content_type": point.ref.content_type or sniff_content_type(raw[:8]),
                        "image": data,
                    }
                )
        columns = [
            "run",
            "tag",
            "step",
            "wall_time",
            "index",
            "width",
            "height",
            "content_type",
            "image",
        ]
        return _pandas().DataFrame(rows, columns=columns)

    def text(self, run: Filter = None, tag: Filter = None) -> pd.DataFrame:
        """One row per text summary: run, tag, step, wall_time, text (str; tables joined by lines and tabs)."""
        rows = []
        for run_name, tag_name in self.series("text", run, tag):
            for point in self.data.tensors(run_name, tag_name):
                rows.append(
                    {
                        "run": run_name,
                        "tag": tag_name,
                        "step": point.step,
                        "wall_time": point.wall_time,
                        "text": _text(point.value),
                    }
                )
        return _pandas().DataFrame(rows, columns=["run", "tag", "step", "wall_time", "text"])

    def hparams(self) -> pd.DataFrame:
        """One row per run with hyperparameters: run, each hyperparameter, and each metric's final value.

        Hyperparameters come from the hparams plugin (``add_hparams``,
        ``hp.hparams``) and from Lightning's ``hparams.yaml``; a metric's
        final value is the value at its run's highest step.
        """
        found = self.data.hparams()
        if not found:
            return _pandas().DataFrame(columns=["run"])
        frame = _pandas().DataFrame([{"run": run, **values} for run, values in found])
        last = self.data.last_scalars()
        last = last[last["run"].isin(frame["run"])]
        if len(last):
            metrics = last.pivot_table(index="run", columns="tag", values="value", aggfunc="last")
            metrics.columns = [str(c) for c in metrics.columns]
            clashing = [c for c in metrics.columns if c in frame.columns]
            metrics = metrics.rename(columns={c: f"metric/{c}" for c in clashing})
            frame = frame.merge(metrics.reset_index(), on="run", how="left")
        return frame

    def checkpoints(self, run: Filter = None) -> pd.DataFrame:
        """Every checkpoint saved (``SessionLog CHECKPOINT`` events): run, step, wall_time, path.

        Example::

            stepscope.open("runs").checkpoints(run="train")
        """
        wanted = _wanted(run)
        rows = [
            (found.run, found.step, found.wall_time, found.path)
            for found in self.data.checkpoints()
            if _matches(found.run, wanted)
        ]
        return _pandas().DataFrame(rows, columns=["run", "step", "wall_time", "path"])

    def graphs(self, run: Filter = None) -> pd.DataFrame:
        """One row per graph tag: run, tag, plugin, kind (op, keras, run_metadata), step, nodes, profile."""
        from stepscope.plugins.graphs.read import list_graphs

        wanted = _wanted(run)
        rows = [
            (info.run, info.tag, info.plugin, info.kind, info.step, info.nodes, info.profile)
            for info in list_graphs(self.data)
            if _matches(info.run, wanted)
        ]
        columns = ["run", "tag", "plugin", "kind", "step", "nodes", "profile"]
        return _pandas().DataFrame(rows, columns=columns)

    def graph(
        self,
        run: str,
        tag: str = "__run_graph__",
        *,
        step: int | None = None,
        limit_attr_size: int | None = 1024,
        stats: str | None = None,
    ) -> Graph:
        """A model graph: ``.nodes`` (name, op, scope, inputs, outputs, attrs...), ``.edges``, ``.scopes``, ``.notes``.

        ``tag`` is ``__run_graph__`` for the graph ``add_graph`` wrote, a Keras
        tag (``keras``) or a TF2 trace's; attributes over ``limit_attr_size`` bytes
        are truncated, as on the dashboard (``None`` keeps them whole); ``stats``
        joins the step stats of a run-metadata tag.

        Example::

            graph = stepscope.open("runs").graph("exp1")
            [(n.name, n.outputs[0].shape) for n in graph.nodes if n.op == "aten::linear"]
        """
        from stepscope.plugins.graphs.read import read_graph

        return read_graph(self.data, run, tag, step, limit_attr_size, stats)

    def sql(self, query: str, parameters: list[Any] | None = None) -> pd.DataFrame:
        """A DataFrame from SQL over the views runs, tags, scalars, tensors, blobs, problems."""
        return self.data.sql(query, parameters)

    # -- filtering ---------------------------------------------------------------

    def series(self, plugin: str, run: Filter = None, tag: Filter = None) -> list[tuple[str, str]]:
        """The ``(run, tag)`` series of a plugin that the filters select."""
        runs, tags = _wanted(run), _wanted(tag)
        return [
            (t.run, t.tag)
            for t in self.data.tags(plugin, count_points=False)
            if _matches(t.run, runs) and _matches(t.tag, tags)
        ]


def _wanted(given: Filter) -> str | re.Pattern[str] | frozenset[str] | None:
    """A filter in a form that can be tested many times (an iterator only once)."""
    if given is None or isinstance(given, str | re.Pattern):
        return given
    return frozenset(given)


def _matches(name: str, wanted: str | re.Pattern[str] | frozenset[str] | None) -> bool:
    if wanted is None:
        return True
    if isinstance(wanted, str):
        return name == wanted
    if isinstance(wanted, re.Pattern):
        return wanted.search(name) is not None
    return name in wanted


def _text(value: Any) -> str:
    array = np.asarray(value, dtype=object)

    def cell(item: Any) -> str:
        return item.decode("utf-8", "replace") if isinstance(item, bytes) else str(item)

    if array.ndim == 0:
        return cell(array.item())
    if array.ndim == 1:
        return "\n".join(cell(item) for item in array.tolist())
    return "\n".join(
        "\t".join(cell(item) for item in row) for row in array.reshape(array.shape[0], -1).tolist()
    )


def _pandas() -> Any:
    """pandas, imported on first use (opening and updating an index does not need it)."""
    import pandas

    return pandas
