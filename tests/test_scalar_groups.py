"""Run groups: ``group_series`` and ``POST /api/plugins/scalars/groups`` against numpy.

The runs are written with stepscope's SummaryWriter: seeds of two configs
with different step sets (one every step, one every other step, one logging a
step twice, one shorter than the others), NaN and infinite values, and
hyperparameters. The expected statistics are computed here, step by step,
from what was written: at each step of the union of the members' steps, each
member whose range holds the step counts with its last value at or before it,
and the statistics are over the finite values among those.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from stepscope import SummaryWriter
from stepscope.loader.discovery import parse_logdir_spec
from stepscope.plugins.scalars.read import (
    RunGroup,
    group_series,
    groups_by_hparam,
    groups_by_regex,
)
from stepscope.server.app import create_app
from stepscope.store.downsample import keep_spikes
from stepscope.store.index import Index
from stepscope.store.provider import DataProvider

WALL = 1_700_000_000.0
FROM_JSON = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
Points = list[tuple[int, float, float]]  # (step, wall time, value) in log order


def _runs() -> dict[str, Points]:
    rng = np.random.default_rng(14)
    runs: dict[str, Points] = {}

    def run(name: str, steps: list[int], values: np.ndarray, offset: float) -> None:
        runs[name] = [
            (s, WALL + offset + i, float(v))
            for i, (s, v) in enumerate(zip(steps, values, strict=True))
        ]

    run("lr0.1_seed1", list(range(100)), 1 + rng.normal(0, 0.1, 100), 0)
    evens = list(range(0, 160, 2))
    b = 1.2 + rng.normal(0, 0.1, len(evens))
    b[10] = math.nan  # step 20: this member does not count there (nor, filled, at 21)
    run("lr0.1_seed2", evens, b, 500)
    c = 0.8 + rng.normal(0, 0.1, 40)
    c[5] = math.inf
    run("lr0.1_seed3", list(range(10, 50)), c, 900)  # shorter, starting late
    runs["lr0.1_seed3"].insert(20, (30, WALL + 1999.0, 7.0))  # step 30 logged twice: 7.0 first
    run("lr1_seed1", list(range(0, 100, 3)), 3 + rng.normal(0, 0.2, 34), 2000)
    d = 2 + rng.normal(0, 0.2, 50)
    d[20:23] = math.nan
    run("lr1_seed2", list(range(0, 100, 2)), d, 3000)
    e = np.full(5, math.nan)
    run("lr1_seed3", [40, 41, 42, 43, 44], e, 4000)  # only NaN: never counted as a value
    return runs


RUNS = _runs()
HPARAMS = {"lr0.1": {"lr": 0.1, "opt": "adam"}, "lr1": {"lr": 1.0, "opt": "sgd"}}


def f32(value: float) -> float:
    return float(np.float32(value))


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DataProvider]:
    root = tmp_path_factory.mktemp("groups") / "logs"
    for name, points in RUNS.items():
        with SummaryWriter(str(root / name)) as writer:
            for step, wall, value in points:
                writer.add_scalar("loss", value, step, walltime=wall)
            if name.endswith("seed1"):
                writer.add_scalar("other", 1.0, 0, walltime=WALL)
            config = name.split("_")[0]
            writer.add_hparams(HPARAMS[config], {"final": 0.5}, run_name="hp")
    provider = DataProvider(Index.open(parse_logdir_spec(str(root)), ":memory:"))
    provider.update()
    yield provider
    provider.index.close()


@pytest.fixture(scope="module")
def client(data: DataProvider) -> Iterator[TestClient]:
    with TestClient(create_app(data)) as test_client:
        yield test_client


def expected(members: list[str], min_step: int | None = None, max_step: int | None = None):
    """The group's statistics computed here, one step at a time, from what was written."""
    last: dict[str, dict[int, tuple[float, float]]] = {}
    for run in members:
        by_step: dict[int, tuple[float, float]] = {}
        for step, wall, value in RUNS[run]:
            by_step[step] = (wall, f32(value))  # the last one logged at a step wins
        last[run] = by_step
    steps = sorted({s for run in members for s in last[run]})
    steps = [
        s
        for s in steps
        if (min_step is None or s >= min_step) and (max_step is None or s <= max_step)
    ]
    rows: dict[str, list[float]] = {k: [] for k in ("mean", "std", "min", "max", "wall")}
    counts: list[int] = []
    present: list[int] = []
    for step in steps:
        values, walls = [], []
        for run in members:
            own = sorted(last[run])
            if not own[0] <= step <= own[-1]:
                continue
            at = max(s for s in own if s <= step)
            walls.append(last[run][at][0])
            values.append(last[run][at][1])
        finite = np.array([v for v in values if math.isfinite(v)])
        present.append(len(values))
        counts.append(len(finite))
        rows["wall"].append(float(np.mean(walls)))
        if len(finite):
            rows["mean"].append(float(np.mean(finite)))
            rows["std"].append(float(np.std(finite)))
            rows["min"].append(float(np.min(finite)))
            rows["max"].append(float(np.max(finite)))
        else:
            for key in ("mean", "std", "min", "max"):
                rows[key].append(math.nan)
    return steps, rows, counts, present


SEEDS_A = ["lr0.1_seed1", "lr0.1_seed2", "lr0.1_seed3"]
SEEDS_B = ["lr1_seed1", "lr1_seed2", "lr1_seed3"]


def close(actual: np.ndarray | list[Any], wanted: list[float]) -> None:
    got = np.array([FROM_JSON[v] if isinstance(v, str) else v for v in actual], dtype=float)
    np.testing.assert_allclose(got, np.array(wanted), rtol=1e-12, atol=1e-12, equal_nan=True)


@pytest.mark.parametrize("band", ["minmax", "std"])
def test_the_statistics_are_numpy_s_over_the_aligned_steps(data: DataProvider, band: str) -> None:
    groups = [RunGroup("lr0.1", tuple(SEEDS_A)), RunGroup("lr1", tuple(SEEDS_B))]
    found = group_series(data, "loss", groups, band)
    assert [g.name for g in found] == ["lr0.1", "lr1"]
    for group, members in zip(found, (SEEDS_A, SEEDS_B), strict=True):
        steps, rows, counts, present = expected(members)
        assert group.steps.tolist() == steps
        assert group.total == len(steps)
        for key in ("mean", "std", "min", "max"):
            close(getattr(group, key), rows[key])
        close(group.wall_times, rows["wall"])
        assert group.count.tolist() == counts
        assert group.present.tolist() == present
        if band == "minmax":
            close(group.lower, rows["min"])
            close(group.upper, rows["max"])
        else:
            close(group.lower, list(np.array(rows["mean"]) - np.array(rows["std"])))
            close(group.upper, list(np.array(rows["mean"]) + np.array(rows["std"])))


def test_nan_and_infinities_are_left_out_and_a_member_counts_only_in_its_range(
    data: DataProvider,
) -> None:
    [a] = group_series(data, "loss", [RunGroup("a", tuple(SEEDS_A))])
    at = {int(s): i for i, s in enumerate(a.steps)}
    # Before seed3 begins (step 10) and after seed1 ends (99), fewer members count.
    assert a.present[at[0]] == 2
    assert a.present[at[12]] == 3
    assert a.present[at[120]] == 1  # only seed2 logs beyond step 99 (seed3 stopped at 49)
    # seed2's NaN at step 20 is its value at 20 and 21 (forward-filled): left out of both.
    assert a.count[at[20]] == 2
    assert a.count[at[21]] == 2
    assert a.count[at[22]] == 3
    # seed3's +inf at step 15 is left out too.
    assert a.count[at[15]] == 2
    assert a.mean[at[15]] == pytest.approx((f32(RUNS["lr0.1_seed1"][15][2]) + a_value(15)) / 2)
    # Step 30 was logged twice by seed3: the last value logged counts.
    steps, rows, _, _ = expected(SEEDS_A)
    assert a.mean[at[30]] == pytest.approx(rows["mean"][steps.index(30)])
    [b] = group_series(data, "loss", [RunGroup("b", tuple(SEEDS_B))])
    at = {int(s): i for i, s in enumerate(b.steps)}
    # seed3 logged only NaN (present at 40..44, never a value); seed2 is NaN at 40..45.
    assert b.present[at[42]] == 3
    assert b.count[at[42]] == 1
    assert b.mean[at[42]] == f32(RUNS["lr1_seed1"][14][2])


def a_value(step: int) -> float:
    """seed2's value at a step (its last at or before it)."""
    points = [p for p in RUNS["lr0.1_seed2"] if p[0] <= step]
    return f32(points[-1][2])


def test_a_step_where_no_member_is_finite_is_nan(data: DataProvider) -> None:
    [only] = group_series(data, "loss", [RunGroup("nan", ("lr1_seed3",))], "std")
    assert only.steps.tolist() == [40, 41, 42, 43, 44]
    assert np.isnan(only.mean).all()
    assert np.isnan(only.lower).all()
    assert only.count.tolist() == [0] * 5
    assert only.present.tolist() == [1] * 5


def test_a_step_range_keeps_the_values_logged_before_it(data: DataProvider) -> None:
    [b] = group_series(data, "loss", [RunGroup("b", tuple(SEEDS_B))], min_step=31, max_step=60)
    steps, rows, counts, _ = expected(SEEDS_B, 31, 60)
    assert b.steps.tolist() == steps
    assert steps[0] == 32  # no member logged step 31; lr1_seed1's 30 counts at 32
    close(b.mean, rows["mean"])
    assert b.count.tolist() == counts
    assert b.total == len(steps)


def test_downsampling_keeps_the_spikes_of_the_mean_and_of_the_band(tmp_path: Path) -> None:
    root = tmp_path / "logs"
    rng = np.random.default_rng(3)
    spikes = {"s1": (1234, 50.0), "s2": (3210, -40.0), "s3": (4321, math.nan)}
    for name in ("s1", "s2", "s3"):
        values = rng.normal(0, 0.1, 5000)
        step, spike = spikes[name]
        values[step] = spike
        with SummaryWriter(str(root / name)) as writer:
            for i, value in enumerate(values):
                writer.add_scalar("loss", float(value), i, walltime=WALL + i)
    data = DataProvider(Index.open(parse_logdir_spec(str(root)), ":memory:"))
    data.update()
    [full] = group_series(data, "loss", [RunGroup("g", ("s1", "s2", "s3"))])
    [small] = group_series(data, "loss", [RunGroup("g", ("s1", "s2", "s3"))], max_points=200)
    assert small.total == full.total == 5000
    assert len(small.steps) <= 200
    kept = small.steps.tolist()
    assert (kept[0], kept[-1]) == (0, 4999)
    for step in (1234, 3210):  # the mean and the band's edges spike there
        assert step in kept
    assert small.max[kept.index(1234)] == pytest.approx(50.0)
    assert small.min[kept.index(3210)] == pytest.approx(-40.0)
    # The NaN is left out of the statistics: at step 4321 two members count.
    assert full.count[4321] == 2
    # The mean alone would keep these: they are all in.
    assert set(full.steps[keep_spikes(full.steps, full.mean, 100)].tolist()) <= set(kept)
    data.index.close()


def test_the_rules_group_by_a_regex_capture_or_an_hparam(data: DataProvider) -> None:
    runs = sorted(RUNS)
    by_regex = groups_by_regex(runs, r"^(.*)_seed\d+$")
    assert by_regex == [RunGroup("lr0.1", tuple(SEEDS_A)), RunGroup("lr1", tuple(SEEDS_B))]
    # Several captures are joined; without one, the whole match names the group.
    assert [g.name for g in groups_by_regex(runs, r"(lr[\d.]+)_(seed)1")] == [
        "lr0.1, seed",
        "lr1, seed",
    ]
    assert [g.name for g in groups_by_regex(runs, r"seed[12]")] == ["seed1", "seed2"]
    assert groups_by_regex(runs, "nothing") == []
    # add_hparams wrote each run's hyperparameters into its sub-run "<run>/hp".
    by_lr = groups_by_hparam(data, runs, "lr")
    assert by_lr == [RunGroup("lr=0.1", tuple(SEEDS_A)), RunGroup("lr=1", tuple(SEEDS_B))]
    assert [g.name for g in groups_by_hparam(data, runs, "opt")] == ["opt=adam", "opt=sgd"]
    assert groups_by_hparam(data, runs, "momentum") == []


def _post(client: TestClient, body: dict[str, Any]) -> Any:
    return client.post("/api/plugins/scalars/groups", json=body)


def test_the_route_answers_the_function_s_series_in_json(
    client: TestClient, data: DataProvider
) -> None:
    body = {"tag": "loss", "groups": [{"name": "b", "runs": SEEDS_B}], "band": "std"}
    response = _post(client, body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["tag"] == "loss"
    assert answer["band"] == "std"
    [group] = answer["groups"]
    steps, rows, counts, present = expected(SEEDS_B)
    assert group["name"] == "b"
    assert group["runs"] == SEEDS_B
    assert group["step"] == steps
    assert group["total"] == len(steps)
    for key in ("mean", "std", "min", "max"):
        close(group[key], rows[key])
    close(group["lower"], list(np.array(rows["mean"]) - np.array(rows["std"])))
    assert group["count"] == counts
    assert group["present"] == present
    nan = _post(client, {**body, "groups": [{"name": "nan", "runs": ["lr1_seed3"]}]}).json()
    assert nan["groups"][0]["mean"] == ["NaN"] * 5  # as JSON can carry it
    small = _post(client, {**body, "max_points": 10}).json()["groups"][0]
    assert len(small["step"]) <= 10
    assert small["total"] == len(steps)


def decode_groups(body: bytes) -> dict[str, Any]:
    """The binary form, read as ``groups_binary`` documents it."""
    assert body[:4] == b"SSG1"
    (length,) = struct.unpack_from("<I", body, 4)
    header = json.loads(body[8 : 8 + length])
    offset = 8 + length
    assert offset % 8 == 0

    def block(count: int, kind: str) -> np.ndarray:
        nonlocal offset
        found = np.frombuffer(body, dtype="<" + kind, count=count, offset=offset)
        offset += -(-found.nbytes // 8) * 8
        return found.astype(np.float64)

    for group in header["groups"]:
        n = group["points"]
        group["step"] = block(n, group["step"])
        group["wall_time"] = group["wall0"] + block(n, "f4")
        for column in ("mean", "lower", "upper", "min", "max", "std"):
            group[column] = block(n, group["value"])
        group["count"] = block(n, "i4")
        group["present"] = block(n, "i4")
    assert offset == len(body)
    return header


def test_the_binary_form_holds_the_same_as_float32(client: TestClient) -> None:
    body = {
        "tag": "loss",
        "groups": [{"name": "a", "runs": SEEDS_A}, {"name": "b", "runs": SEEDS_B}],
    }
    answer = _post(client, body).json()
    response = _post(client, {**body, "format": "binary"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.stepscope.groups"
    assert "content-encoding" not in response.headers  # floats do not gzip: sent as they are
    binary = decode_groups(response.content)
    assert (binary["tag"], binary["band"]) == ("loss", "minmax")
    for from_json, from_binary in zip(answer["groups"], binary["groups"], strict=True):
        assert from_binary["name"] == from_json["name"]
        assert from_binary["runs"] == from_json["runs"]
        assert from_binary["total"] == from_json["total"]
        assert from_binary["step"].tolist() == from_json["step"]
        for column in ("mean", "lower", "upper", "min", "max", "std"):
            wanted = np.array([FROM_JSON.get(v, v) for v in from_json[column]], dtype=float)
            np.testing.assert_array_equal(
                from_binary[column], wanted.astype(np.float32).astype(np.float64)
            )
        assert from_binary["count"].tolist() == from_json["count"]
        assert from_binary["present"].tolist() == from_json["present"]
        np.testing.assert_allclose(from_binary["wall_time"], from_json["wall_time"], atol=1e-3)


def test_the_route_groups_by_a_rule(client: TestClient) -> None:
    answer = _post(client, {"tag": "loss", "regex": r"^(.*)_seed\d+$"}).json()
    assert [(g["name"], g["runs"]) for g in answer["groups"]] == [
        ("lr0.1", SEEDS_A),
        ("lr1", SEEDS_B),
    ]
    answer = _post(client, {"tag": "loss", "hparam": "lr", "band": "minmax"}).json()
    assert [g["name"] for g in answer["groups"]] == ["lr=0.1", "lr=1"]
    # Only the runs that have the tag are grouped.
    answer = _post(client, {"tag": "other", "regex": r"^(.*)_seed\d+$"}).json()
    assert [g["runs"] for g in answer["groups"]] == [["lr0.1_seed1"], ["lr1_seed1"]]
    assert _post(client, {"tag": "loss", "regex": "^zzz"}).json()["groups"] == []


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (
            {"tag": "loss", "regex": "(unclosed"},
            400,
            "bad parameter 'regex': not a valid regular expression: missing ), unterminated subpattern at position 0",
        ),
        (
            {"tag": "loss", "groups": [{"name": "g", "runs": ["lr1_seed1", "nobody"]}]},
            404,
            "no run named 'nobody' in this logdir",
        ),
        (
            {"tag": "loss", "groups": [{"name": "g", "runs": []}]},
            400,
            "group 'g' has no runs",
        ),
        ({"tag": "loss", "groups": []}, 400, "bad parameter 'groups': no group given"),
        (
            {"tag": "loss", "groups": [{"name": "g", "runs": ["lr1_seed1"]}], "regex": "x"},
            400,
            "bad parameter 'groups': give either groups, a regex or an hparam",
        ),
        (
            {"tag": "loss", "groups": [{"name": "g", "runs": ["a"]}, {"name": "g", "runs": ["b"]}]},
            400,
            "two groups are named 'g'",
        ),
        (
            {"tag": "loss", "groups": [{"name": "g", "runs": ["lr1_seed1"]}], "band": "iqr"},
            400,
            "bad parameter 'band': Input should be 'minmax' or 'std'",
        ),
        (
            {"tag": "nope", "groups": [{"name": "g", "runs": ["lr1_seed1"]}]},
            404,
            "run 'lr1_seed1' has no scalar tag 'nope'",
        ),
        ({"tag": "nope", "regex": "."}, 404, "no run has a scalar tag 'nope'"),
        (
            {
                "tag": "loss",
                "groups": [{"name": "g", "runs": ["lr1_seed1"]}],
                "min_step": 5,
                "max_step": 4,
            },
            400,
            "bad parameter 'min_step': larger than max_step",
        ),
    ],
)
def test_bad_requests_are_one_line_errors(
    client: TestClient, body: dict[str, Any], status: int, message: str
) -> None:
    response = _post(client, body)
    assert response.status_code == status, response.text
    assert response.json() == {"error": {"status": status, "message": message}}
