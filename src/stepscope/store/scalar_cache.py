"""Whole scalar series in memory, read per run and kept until their run changes.

A chart, its zoom and a page reload ask for the same series again and
again; reading them once per run version (and in one query per batch of
runs) is what keeps the scalar routes fast. Least recently used series go
first once the cache holds more than its limit.
"""

from __future__ import annotations

import itertools
import threading
from collections import OrderedDict
from typing import Any

import numpy as np
import numpy.typing as npt

from stepscope.store.index import Index

Arrays = tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.float64]]


class ScalarCache:
    """Whole series by ``(run_id, tag_id)``: steps, wall times and values, read-only arrays."""

    def __init__(self, index: Index, limit: int) -> None:
        self.index = index
        self.limit = limit  # bytes
        self._cache: OrderedDict[tuple[int, int], tuple[tuple[int, int], Arrays]] = OrderedDict()
        self._cache_bytes = 0
        self._cache_lock = threading.Lock()
        self._load_lock = threading.Lock()

    def series(self, keys: list[tuple[int, int]]) -> dict[tuple[int, int], Arrays]:
        """Whole scalar series by (run_id, tag_id), from the cache or read per run."""
        found, stale = self._cached(keys)
        if stale:
            with self._load_lock:  # one reader at a time; it may have read these meanwhile
                again, stale = self._cached(keys)
                found.update(again)
                if stale:
                    found.update(self._load_runs(sorted(stale), keys))
        return found

    def warm(self) -> None:
        """Read every scalar series into the cache if they fit in half of it."""
        count = self.index.cursor().execute("SELECT count(*) FROM _scalars").fetchone()
        if count is None or count[0] * 24 > self.limit // 2:
            return
        with self._load_lock:
            self._load_runs(None, [])

    def _cached(
        self, keys: list[tuple[int, int]]
    ) -> tuple[dict[tuple[int, int], Arrays], set[int]]:
        found: dict[tuple[int, int], Arrays] = {}
        stale: set[int] = set()
        with self._cache_lock:
            for key in keys:
                entry = self._cache.get(key)
                if entry is not None and entry[0] == self.index.run_version(key[0]):
                    self._cache.move_to_end(key)
                    found[key] = entry[1]
                else:
                    stale.add(key[0])
        return found, stale

    def _load_runs(
        self, run_ids: list[int] | None, keys: list[tuple[int, int]]
    ) -> dict[tuple[int, int], Arrays]:
        """Reads whole runs (all runs if None) into the cache; returns the series of ``keys``.

        DuckDB returns rows in insertion order, so a stable sort by (run, tag,
        step) keeps values logged twice at one step in their logged order.
        """
        ids = run_ids if run_ids is not None else sorted(self.index.run_ids().values())
        versions = {run_id: self.index.run_version(run_id) for run_id in ids}
        query = "SELECT run_id, tag_id, step, wall_time, value FROM _scalars"
        if run_ids is not None:
            # Integer literals from the index itself: DuckDB prunes row groups by run_id.
            query += f" WHERE run_id IN ({','.join(str(r) for r in run_ids)})"
        columns = self.index.cursor().execute(query).fetchnumpy()
        key = (np.asarray(columns["run_id"], dtype=np.int64) << 32) | np.asarray(
            columns["tag_id"], dtype=np.int64
        )
        steps = np.asarray(columns["step"], dtype=np.int64)
        order = np.lexsort((steps, key))
        key, steps = key[order], steps[order]
        walls = np.asarray(columns["wall_time"], dtype=np.float64)[order]
        values = np.asarray(columns["value"], dtype=np.float64)[order]
        del columns, order
        bounds: list[int] = (
            np.flatnonzero(np.r_[True, key[1:] != key[:-1], True]).tolist() if len(key) else []
        )
        read: dict[tuple[int, int], Arrays] = {}
        for start, end in itertools.pairwise(bounds):
            series_key = (int(key[start]) >> 32, int(key[start]) & 0xFFFFFFFF)
            # Copies, so that dropping one series from the cache frees its memory;
            # read-only, since they are handed out as they are.
            read[series_key] = (
                _frozen(steps[start:end]),
                _frozen(walls[start:end]),
                _frozen(values[start:end]),
            )
        empty: Arrays = (
            _frozen(np.zeros(0, np.int64)),
            _frozen(np.zeros(0, np.float64)),
            _frozen(np.zeros(0, np.float64)),
        )
        for wanted in keys:
            if wanted[0] in versions and wanted not in read:
                read[wanted] = empty  # the run has no point of this tag (yet)
        with self._cache_lock:
            for series_key, arrays in read.items():
                old = self._cache.pop(series_key, None)
                if old is not None:
                    self._cache_bytes -= _nbytes(old[1])
                self._cache[series_key] = (versions[series_key[0]], arrays)
                self._cache_bytes += _nbytes(arrays)
            while self._cache_bytes > self.limit and self._cache:
                _, (_, dropped) = self._cache.popitem(last=False)
                self._cache_bytes -= _nbytes(dropped)
        return {k: read[k] for k in keys if k in read}


def _frozen(array: npt.NDArray[Any]) -> npt.NDArray[Any]:
    copy: npt.NDArray[Any] = np.array(array, copy=True)
    copy.flags.writeable = False
    return copy


def _nbytes(arrays: Arrays) -> int:
    return sum(int(a.nbytes) for a in arrays)
