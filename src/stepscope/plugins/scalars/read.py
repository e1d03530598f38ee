"""Run groups: several runs of one tag drawn as their mean with a band.

A group's series is computed over *aligned steps*: the union of its
members' steps. At each of them a member counts with its last value at or
before the step (a value logged twice at one step: the last one), but only
within its own range (from its first step to its last): a member that has
stopped, or not yet begun, is not counted. Over the members counted, the
``mean``, ``min``, ``max`` and ``std`` (population, ``ddof=0``) are taken
over the *finite* values only; ``count`` says how many there were and
``present`` how many members were counted at all. A step where none is
finite has NaN statistics, so a group that diverged shows as such.

Everything is computed at full resolution, then downsampled without hiding a
spike (:mod:`stepscope.store.downsample`) on the mean and on the band's edges.

Example::

    from stepscope.plugins.scalars.read import RunGroup, group_series

    groups = [RunGroup("lr0.1", ("lr0.1_seed1", "lr0.1_seed2", "lr0.1_seed3"))]
    [found] = group_series(provider, "loss", groups, band="std", max_points=1000)
    found.mean, found.lower, found.upper  # arrays by found.steps
"""

from __future__ import annotations

import json
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from stepscope.errors import NotFoundError, UsageError
from stepscope.server.jsonable import json_number
from stepscope.store.downsample import keep_spikes
from stepscope.store.provider import DataProvider, ScalarSeries

Band = Literal["minmax", "std"]
#: The bands a group can be drawn with: its members' min to max, or the mean ± 1 std.
BANDS: tuple[Band, ...] = ("minmax", "std")
#: The media type of :func:`groups_binary`.
BINARY_GROUPS = "application/vnd.stepscope.groups"
#: The statistics in :func:`groups_binary`, in their order.
STAT_COLUMNS = ("mean", "lower", "upper", "min", "max", "std")
_FLOAT32_MAX = float(np.finfo(np.float32).max)
#: At most this many (member x step) cells are held at once; longer groups go in chunks of steps.
CHUNK_CELLS = 1 << 21

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


@dataclass(frozen=True)
class RunGroup:
    """A group's name and its member runs."""

    name: str
    runs: tuple[str, ...]


@dataclass(frozen=True)
class GroupSeries:
    """A group's statistics by aligned step (see the module's docstring); ``lower``/``upper`` are its band."""

    name: str
    runs: tuple[str, ...]
    steps: Ints
    wall_times: Floats  # the mean of the counted members' wall times
    mean: Floats
    std: Floats
    min: Floats
    max: Floats
    count: Ints  # members with a finite value at the step
    present: Ints  # members whose range holds the step
    lower: Floats
    upper: Floats
    total: int  # aligned steps (in the step range), before downsampling


@dataclass(frozen=True)
class _Stats:
    steps: Ints
    wall_times: Floats
    mean: Floats
    std: Floats
    min: Floats
    max: Floats
    count: Ints
    present: Ints


def group_series(
    data: DataProvider,
    tag: str,
    groups: Sequence[RunGroup],
    band: str = "minmax",
    max_points: int | None = None,
    min_step: int | None = None,
    max_step: int | None = None,
) -> list[GroupSeries]:
    """Each group's mean and band of one scalar tag, in the order of ``groups`` (none: ``[]``).

    ``min_step``/``max_step`` (inclusive) keep the aligned steps in that
    range (a member still counts with a value logged before ``min_step``);
    ``max_points`` then downsamples each group, keeping spikes of the mean and
    of the band's edges. An empty group, a name given twice or a bad band is
    a :class:`UsageError`; a run that does not exist or lacks the tag a
    :class:`~stepscope.errors.NotFoundError`.
    """
    _check(groups, band, max_points, min_step, max_step)
    if not groups:
        return []
    members = sorted({run for group in groups for run in group.runs})
    series = dict(data.scalars_of_tag(tag, members))
    found = []
    for group in groups:
        runs = dict.fromkeys(group.runs)  # a run named twice counts once
        stats = _aligned_stats([series[run] for run in runs], min_step, max_step)
        found.append(_finish(group, stats, band, max_points))
    return found


def _check(
    groups: Sequence[RunGroup],
    band: str,
    max_points: int | None,
    min_step: int | None,
    max_step: int | None,
) -> None:
    if band not in BANDS:
        raise UsageError(f"bad parameter 'band': {band!r} is not one of {', '.join(BANDS)}")
    if max_points is not None and max_points < 1:
        raise UsageError(f"bad parameter 'max_points': must be positive, not {max_points}")
    if min_step is not None and max_step is not None and min_step > max_step:
        raise UsageError("bad parameter 'min_step': larger than max_step")
    seen: set[str] = set()
    for group in groups:
        if not group.runs:
            raise UsageError(f"group {group.name!r} has no runs")
        if group.name in seen:
            raise UsageError(f"two groups are named {group.name!r}")
        seen.add(group.name)


def _aligned_stats(
    members: Sequence[ScalarSeries], min_step: int | None = None, max_step: int | None = None
) -> _Stats:
    """The statistics of these series over their aligned steps (in the step range), at full resolution."""
    steps = _aligned_steps(members, min_step, max_step)
    chunk = max(1, CHUNK_CELLS // max(1, len(members)))
    parts = [_chunk_stats(members, steps[at : at + chunk]) for at in range(0, len(steps), chunk)]
    if not parts:
        parts = [_chunk_stats(members, steps)]
    columns = [np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(_Stats)]
    return _Stats(*columns)


def _aligned_steps(
    members: Sequence[ScalarSeries], min_step: int | None, max_step: int | None
) -> Ints:
    pieces = []
    for member in members:
        steps = member.steps
        low = 0 if min_step is None else int(np.searchsorted(steps, min_step, "left"))
        high = len(steps) if max_step is None else int(np.searchsorted(steps, max_step, "right"))
        pieces.append(steps[low:high])
    pieces = [p for p in pieces if len(p)]
    if not pieces:
        return np.zeros(0, np.int64)
    first, last = min(int(p[0]) for p in pieces), max(int(p[-1]) for p in pieces)
    points = sum(len(p) for p in pieces)
    if last - first > 4 * points + 1024:
        return np.unique(np.concatenate(pieces)).astype(np.int64)
    # Steps are dense enough for a mark per step: faster than sorting them all.
    marked = np.zeros(last - first + 1, dtype=bool)
    for piece in pieces:
        marked[piece - first] = True
    return (np.flatnonzero(marked) + first).astype(np.int64)


def _chunk_stats(members: Sequence[ScalarSeries], steps: Ints) -> _Stats:
    """The statistics at these steps, from a (member x step) table of forward-filled values.

    A member covers a contiguous part of the (sorted) steps, from its first
    step to its last; outside it, its cells are NaN and it is not counted.
    """
    values = np.full((len(members), len(steps)), np.nan)
    wall_sum = np.zeros(len(steps))
    ends = np.zeros(len(steps) + 1, dtype=np.int64)
    for row, member in enumerate(members):
        if len(member.steps) == 0:
            continue
        low = int(np.searchsorted(steps, member.steps[0], "left"))
        high = int(np.searchsorted(steps, member.steps[-1], "right"))
        # The last point at or before each step (of several at one step, the last logged).
        at = np.searchsorted(member.steps, steps[low:high], "right") - 1
        values[row, low:high] = member.values[at]
        wall_sum[low:high] += member.wall_times[at]
        ends[low] += 1
        ends[high] -= 1
    counted = np.cumsum(ends[:-1])
    if not all(bool(np.isfinite(m.values).all()) for m in members):
        values[np.isinf(values)] = np.nan  # the statistics are over finite values only
    missing = np.isnan(values)
    count = len(members) - np.count_nonzero(missing, axis=0)
    filled = np.where(missing, 0.0, values)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = filled.sum(axis=0) / count
        np.subtract(filled, mean, out=filled)
        np.copyto(filled, 0.0, where=missing)
        std = np.sqrt(np.einsum("ij,ij->j", filled, filled) / count)
        wall_times = wall_sum / counted
    return _Stats(
        steps.astype(np.int64),
        wall_times,
        mean,
        std,
        np.fmin.reduce(values, axis=0),
        np.fmax.reduce(values, axis=0),
        count.astype(np.int64),
        counted.astype(np.int64),
    )


def _finish(group: RunGroup, stats: _Stats, band: str, max_points: int | None) -> GroupSeries:
    lower, upper = (
        (stats.min, stats.max)
        if band == "minmax"
        else (stats.mean - stats.std, stats.mean + stats.std)
    )
    kept = _kept(stats.steps, stats.mean, lower, upper, max_points)

    def pick(column: npt.NDArray[Any]) -> npt.NDArray[Any]:
        return column if kept is None else column[kept]

    return GroupSeries(
        group.name,
        tuple(group.runs),
        pick(stats.steps),
        pick(stats.wall_times),
        pick(stats.mean),
        pick(stats.std),
        pick(stats.min),
        pick(stats.max),
        pick(stats.count),
        pick(stats.present),
        pick(lower),
        pick(upper),
        len(stats.steps),
    )


def _kept(
    steps: Ints, mean: Floats, lower: Floats, upper: Floats, max_points: int | None
) -> Ints | None:
    """The points to keep (None: all): spikes of the mean (half the points) and of each band edge."""
    if max_points is None or len(steps) <= max_points:
        return None
    if max_points < 8:
        return keep_spikes(steps, mean, max_points)
    edge = max_points // 4
    kept = np.union1d(
        keep_spikes(steps, mean, max_points - 2 * edge), keep_spikes(steps, lower, edge)
    )
    return np.union1d(kept, keep_spikes(steps, upper, edge)).astype(np.int64)


# -- the rules -------------------------------------------------------------------


def chosen_groups(
    data: DataProvider,
    tag: str,
    groups: Sequence[RunGroup] | None = None,
    regex: str | None = None,
    hparam: str | None = None,
) -> list[RunGroup]:
    """The groups asked for: given, or made by one rule over the runs that have the scalar tag.

    Exactly one of ``groups`` (not empty), ``regex`` (see :func:`groups_by_regex`)
    and ``hparam`` (see :func:`groups_by_hparam`); a rule may make no group.
    """
    if sum(given is not None for given in (groups, regex, hparam)) != 1:
        raise UsageError("bad parameter 'groups': give either groups, a regex or an hparam")
    if groups is not None:
        if not groups:
            raise UsageError("bad parameter 'groups': no group given")
        return list(groups)
    runs = [t.run for t in data.tags("scalars", count_points=False) if t.tag == tag]
    if not runs:
        raise NotFoundError(f"no run has a scalar tag {tag!r}")
    if regex is not None:
        return groups_by_regex(runs, regex)
    return groups_by_hparam(data, runs, str(hparam))


def groups_by_regex(runs: Sequence[str], pattern: str) -> list[RunGroup]:
    """Runs grouped by what a regular expression captures in their names (``re.search``).

    The group's name is the captured text (several captures joined by
    ``", "``; with no capture, the whole match). Runs it does not match are
    in no group. A pattern that does not compile is a :class:`UsageError`.

    Example::

        groups_by_regex(["lr0.1_seed1", "lr0.1_seed2", "lr1_seed1"], r"^(.*)_seed\\d+$")
        # [RunGroup("lr0.1", ("lr0.1_seed1", "lr0.1_seed2")), RunGroup("lr1", ("lr1_seed1",))]
    """
    try:
        compiled = re.compile(pattern)
    except re.error as error:
        raise UsageError(
            f"bad parameter 'regex': not a valid regular expression: {error}"
        ) from None
    keys: dict[str, str] = {}
    for run in runs:
        match = compiled.search(run)
        if match is not None:
            captured = match.groups()
            keys[run] = ", ".join(c or "" for c in captured) if captured else match.group(0)
    return _by_key(keys)


def groups_by_hparam(data: DataProvider, runs: Sequence[str], name: str) -> list[RunGroup]:
    """Runs grouped by the value of one hyperparameter, named ``"<name>=<value>"``.

    A run's hyperparameters are its own or, when it has none (torch's
    ``add_hparams`` writes a sub-run), those of its only sub-run that has
    some. Runs without that hyperparameter are in no group.
    """
    logged = dict(data.hparams())
    keys: dict[str, str] = {}
    for run in runs:
        values = logged.get(run)
        if values is None:
            inside = [v for r, v in logged.items() if r.startswith(run + "/")]
            values = inside[0] if len(inside) == 1 else None
        if values is not None and name in values:
            keys[run] = f"{name}={_hparam_text(values[name])}"
    return _by_key(keys)


def _hparam_text(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else f"{value:.6g}"
    return str(value)


def _by_key(keys: dict[str, str]) -> list[RunGroup]:
    members: dict[str, list[str]] = {}
    for run in sorted(keys):
        members.setdefault(keys[run], []).append(run)
    return [RunGroup(name, tuple(runs)) for name, runs in sorted(members.items())]


# -- as JSON and as columns -------------------------------------------------------


def group_json(found: GroupSeries) -> dict[str, Any]:
    """A group's series as the route answers it (NaN and infinities as strings)."""
    return {
        "name": found.name,
        "runs": list(found.runs),
        "total": found.total,
        "step": found.steps.tolist(),
        "wall_time": found.wall_times.tolist(),
        "mean": _json_floats(found.mean),
        "lower": _json_floats(found.lower),
        "upper": _json_floats(found.upper),
        "min": _json_floats(found.min),
        "max": _json_floats(found.max),
        "std": _json_floats(found.std),
        "count": found.count.tolist(),
        "present": found.present.tolist(),
    }


def _json_floats(values: Floats) -> list[float | str]:
    listed: list[float] = values.tolist()
    if bool(np.isfinite(values).all()):
        return list(listed)
    return [json_number(v) for v in listed]


def groups_binary(tag: str, band: str, found: Sequence[GroupSeries]) -> bytes:
    """Groups as ``SSG1``, header length (uint32 LE), a JSON header, then compact columns.

    The header is ``{"tag", "band", "groups": [{"name", "runs", "total",
    "points", "step", "value", "wall0"}]}``, padded to 8 bytes. Then, group
    after group, blocks each padded to 8 bytes: the steps (``"step"``:
    ``"i4"`` when they all fit in int32, else ``"f8"``), the wall times as
    float32 seconds after ``wall0``, the statistics of :data:`STAT_COLUMNS`
    (``"value"``: ``"f4"``, or ``"f8"`` when a finite one is beyond float32's
    range), and ``count`` and ``present`` as int32. All little-endian; NaN
    and infinities as such. No float is printed or parsed: this is the form
    the page reads.
    """
    entries: list[dict[str, Any]] = []
    blocks: list[bytes] = []
    for group in found:
        steps = group.steps
        small = len(steps) == 0 or (steps.min() >= -(2**31) and steps.max() < 2**31)
        stats = [getattr(group, name) for name in STAT_COLUMNS]
        finite = np.concatenate([column[np.isfinite(column)] for column in stats])
        narrow = len(finite) == 0 or float(np.abs(finite).max()) <= _FLOAT32_MAX
        wall0 = float(group.wall_times[0]) if len(steps) else 0.0
        entries.append(
            {
                "name": group.name,
                "runs": list(group.runs),
                "total": group.total,
                "points": len(steps),
                "step": "i4" if small else "f8",
                "value": "f4" if narrow else "f8",
                "wall0": wall0,
            }
        )
        columns = [
            steps.astype("<i4" if small else "<f8"),
            (group.wall_times - wall0).astype("<f4"),
            *(column.astype("<f4" if narrow else "<f8") for column in stats),
            group.count.astype("<i4"),
            group.present.astype("<i4"),
        ]
        for column in columns:
            raw = column.tobytes()
            blocks.append(raw + b"\0" * (-len(raw) % 8))
    header = json.dumps({"tag": tag, "band": band, "groups": entries}).encode()
    padding = b" " * (-(8 + len(header)) % 8)
    return b"".join(
        [b"SSG1", struct.pack("<I", len(header) + len(padding)), header, padding, *blocks]
    )
