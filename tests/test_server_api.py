"""The HTTP API against a real index of real event files.

``POST /api/scalars`` (JSON and binary columns), step ranges, errors,
downsampling of many runs in one request, the scalar cache across updates,
tag ids that differ between runs, server-sent events (in the test client and
on a real uvicorn server in a thread), the static page and its assets, the
token, ``/api/tags`` counts, and a property test of ``keep_spikes_many``
against a plain reference implementation.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import math
import re
import socket
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stepscope import SummaryWriter
from stepscope.loader.discovery import parse_logdir_spec
from stepscope.server.app import MAX_POINTS, create_app, web_dist
from stepscope.store.downsample import keep_spikes, keep_spikes_many
from stepscope.store.index import Index
from stepscope.store.provider import DataProvider

WALL = 1_700_000_000.0
FROM_JSON = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _series() -> dict[str, list[tuple[int, float]]]:
    """The ``loss`` series of each run: (step, value) in log order."""
    rng = np.random.default_rng(7)
    a = np.sin(np.arange(600) / 15.0)
    a[217], a[411] = 50.0, -40.0  # spikes
    b = rng.normal(size=250)
    b[101], b[180] = math.nan, -math.inf  # a divergence and a -inf
    c = rng.uniform(size=40)
    c[29] = 9.0
    d = rng.uniform(size=10)
    return {
        "a": [(2 * i, float(v)) for i, v in enumerate(a)],
        "b": [(i // 2, float(v)) for i, v in enumerate(b)],  # every step logged twice
        "c": [(1000 + 3 * i, float(v)) for i, v in enumerate(c)],
        "d": [(i, float(v)) for i, v in enumerate(d)],
    }


SERIES = _series()


def f32(value: float) -> float:
    """What a value logged as a scalar reads back as (``simple_value`` is a float32)."""
    return float(np.float32(value))


def wall(run: str, position: int) -> float:
    return WALL + 1000 * "abcd".index(run) + position * 0.25


def expected(run: str) -> tuple[list[int], list[float], list[float]]:
    """Steps, wall times and values of ``loss`` of ``run`` as the index must hold them."""
    points = SERIES[run]
    return (
        [s for s, _ in points],
        [wall(run, i) for i in range(len(points))],
        [f32(v) for _, v in points],
    )


def same_value(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def json_values(series: dict[str, Any]) -> list[float]:
    return [FROM_JSON[v] if isinstance(v, str) else float(v) for v in series["value"]]


def same_values(a: list[float], b: list[float]) -> bool:
    return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b, strict=True))


def open_provider(root: Path, index_path: Path) -> DataProvider:
    provider = DataProvider(Index.open(parse_logdir_spec(str(root)), str(index_path)))
    provider.update()
    return provider


@pytest.fixture
def logdir(tmp_path: Path) -> Path:
    root = tmp_path / "logs"
    for run in SERIES:
        with SummaryWriter(str(root / run)) as writer:
            for i, (step, value) in enumerate(SERIES[run]):
                writer.add_scalar("loss", value, step, walltime=wall(run, i))
            if run == "a":
                writer.add_scalar("odd", math.nan, 0, walltime=WALL)
                writer.add_scalar("odd", math.inf, 1, walltime=WALL + 1)
                writer.add_scalar("odd", -math.inf, 2, walltime=WALL + 2)
                writer.add_scalar("odd", 1.5, 3, walltime=WALL + 3)
            if run == "c":
                for step in range(3):
                    writer.add_histogram("weights", np.arange(10.0) + step, step)
    return root


@pytest.fixture
def data(logdir: Path, tmp_path: Path) -> Iterator[DataProvider]:
    provider = open_provider(logdir, tmp_path / "i.duckdb")
    yield provider
    provider.index.close()


@pytest.fixture
def client(data: DataProvider) -> Iterator[TestClient]:
    with TestClient(create_app(data, events_interval=0.05)) as test_client:
        yield test_client


def decode_columns(body: bytes) -> dict[str, Any]:
    """Read the binary form, as ``columns_binary`` documents it (wall times as float64)."""
    assert body[:4] == b"SSC2"
    (length,) = struct.unpack_from("<I", body, 4)
    start = 8 + length
    assert start % 8 == 0, "the columns start on an 8-byte boundary"
    header = json.loads(body[8:start].decode("utf-8"))
    offset = start

    def block(points: int, dtype: str) -> np.ndarray:
        nonlocal offset
        found = np.frombuffer(body, dtype=dtype, count=points, offset=offset)
        offset += -(-found.nbytes // 8) * 8  # each block is padded to 8 bytes
        return found

    series = []
    for entry in header["series"]:
        points = entry["points"]
        steps = block(points, "<" + entry["step"])
        walls = entry["wall0"] + block(points, "<f4").astype(np.float64)
        values = block(points, "<" + entry["value"]).astype(np.float64)
        series.append(
            {
                "run": entry["run"],
                "total": entry["total"],
                "step": [float(s) for s in steps],
                "wall_time": walls.tolist(),
                "value": values.tolist(),
            }
        )
    assert offset == len(body), "nothing after the last column"
    return {"tag": header["tag"], "series": series}


def assert_binary_matches_json(binary: dict[str, Any], as_json: dict[str, Any]) -> None:
    assert binary["tag"] == as_json["tag"]
    assert [s["run"] for s in binary["series"]] == [s["run"] for s in as_json["series"]]
    for ours, theirs in zip(binary["series"], as_json["series"], strict=True):
        assert ours["total"] == theirs["total"]
        assert ours["step"] == [float(s) for s in theirs["step"]]
        # Wall times travel as float32 seconds after the first: to a few ms over days.
        assert ours["wall_time"] == pytest.approx(theirs["wall_time"], abs=0.01, rel=0)
        assert len(ours["value"]) == len(theirs["value"])
        for number, text in zip(ours["value"], theirs["value"], strict=True):
            if math.isnan(number):
                assert text == "NaN"
            elif math.isinf(number):
                assert text == ("Infinity" if number > 0 else "-Infinity")
            else:
                assert not isinstance(text, str)
                # Values travel as float32 (what add_scalar logs), exactly so here.
                assert number == float(np.float32(text))


# -- 1. POST /api/scalars, JSON and binary ---------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        {"tag": "loss"},
        {"tag": "loss", "runs": ["b", "a"], "max_points": 40, "min_step": 10, "max_step": 500},
        {"tag": "odd", "runs": ["a"]},
    ],
)
def test_post_returns_what_get_returns_in_json_and_in_binary(
    client: TestClient, query: dict[str, Any]
) -> None:
    params = {("run" if k == "runs" else k): v for k, v in query.items()}
    got = client.get("/api/scalars", params=params)
    posted = client.post("/api/scalars", json={**query, "format": "json"})
    assert got.status_code == posted.status_code == 200
    assert posted.headers["content-type"].startswith("application/json")
    assert posted.headers["cache-control"] == "no-cache"
    assert posted.json() == got.json()
    as_json = posted.json()
    assert as_json["series"], "some series"
    if "runs" in query:
        assert [s["run"] for s in as_json["series"]] == query["runs"]

    binary = client.post(
        "/api/scalars", json={**query, "format": "binary"}, headers={"Accept-Encoding": "gzip"}
    )
    assert binary.status_code == 200
    assert binary.headers["content-type"] == "application/vnd.stepscope.columns"
    assert "content-encoding" not in binary.headers  # excluded from gzip: read as it comes
    assert (
        binary.content == client.get("/api/scalars", params={**params, "format": "binary"}).content
    )
    assert_binary_matches_json(decode_columns(binary.content), as_json)


def test_binary_keeps_nan_and_infinities_that_json_sends_as_strings(client: TestClient) -> None:
    as_json = client.post("/api/scalars", json={"tag": "odd"}).json()
    assert as_json["series"][0]["value"] == ["NaN", "Infinity", "-Infinity", 1.5]
    binary = decode_columns(
        client.post("/api/scalars", json={"tag": "odd", "format": "binary"}).content
    )
    [series] = binary["series"]
    assert series["run"] == "a"
    assert series["step"] == [0.0, 1.0, 2.0, 3.0]
    assert series["wall_time"] == [WALL, WALL + 1, WALL + 2, WALL + 3]
    assert math.isnan(series["value"][0])
    assert series["value"][1:] == [math.inf, -math.inf, 1.5]
    assert_binary_matches_json(binary, as_json)


def test_the_whole_series_comes_back_as_logged(client: TestClient) -> None:
    body = client.post("/api/scalars", json={"tag": "loss"}).json()
    assert [s["run"] for s in body["series"]] == ["a", "b", "c", "d"]
    for series in body["series"]:
        steps, walls, values = expected(series["run"])
        assert series["total"] == len(steps)
        assert series["step"] == steps
        assert series["wall_time"] == walls
        assert same_values(json_values(series), values)


# -- 2. step ranges and errors ---------------------------------------------------------


def test_min_and_max_step_cut_inclusively_and_total_counts_the_range(client: TestClient) -> None:
    def one(run: str, **extra: Any) -> dict[str, Any]:
        response = client.post("/api/scalars", json={"tag": "loss", "runs": [run], **extra})
        assert response.status_code == 200, response.text
        [series] = response.json()["series"]
        return series

    cut = one("a", min_step=100, max_step=198)
    assert cut["step"] == list(range(100, 199, 2))  # both ends included
    assert cut["total"] == 50
    values = expected("a")[2]
    assert same_values(json_values(cut), values[50:100])
    # A bound between two steps.
    assert one("a", min_step=101, max_step=105)["step"] == [102, 104]
    assert one("a", min_step=1190)["step"] == [1190, 1192, 1194, 1196, 1198]
    assert one("a", max_step=4)["step"] == [0, 2, 4]
    # Both points of a step logged twice, in log order.
    twice = one("b", min_step=50, max_step=50)
    assert twice["step"] == [50, 50]
    assert twice["total"] == 2
    assert same_values(json_values(twice), expected("b")[2][100:102])
    # An empty range: no points, and total says so.
    empty = one("a", min_step=3, max_step=3)
    assert (empty["step"], empty["total"]) == ([], 0)
    # The range first, then downsampling: total is the range's count.
    zoomed = one("a", min_step=200, max_step=999, max_points=10)
    assert zoomed["total"] == 400
    assert len(zoomed["step"]) <= 10
    assert (zoomed["step"][0], zoomed["step"][-1]) == (200, 998)
    # The same through GET.
    got = client.get(
        "/api/scalars", params={"tag": "loss", "run": "a", "min_step": 100, "max_step": 198}
    )
    assert got.json()["series"][0] == cut


def assert_error(response: Any, status: int, *words: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"status", "message"}
    assert body["error"]["status"] == status
    for word in words:
        assert word in body["error"]["message"]


def test_bad_queries_are_400_naming_the_parameter(client: TestClient) -> None:
    for send in (
        lambda q: client.post("/api/scalars", json=q),
        lambda q: client.get(
            "/api/scalars", params={("run" if k == "runs" else k): v for k, v in q.items()}
        ),
    ):
        assert_error(send({"tag": "loss", "min_step": 10, "max_step": 9}), 400, "'min_step'")
        assert_error(send({"tag": "loss", "min_step": "abc"}), 400, "'min_step'")
        assert_error(send({"tag": "loss", "max_step": "1e3"}), 400, "'max_step'")
        assert_error(send({"tag": "loss", "max_points": 0}), 400, "'max_points'")
        assert_error(send({"tag": "loss", "max_points": MAX_POINTS + 1}), 400, "'max_points'")
        assert_error(send({"tag": "loss", "format": "xml"}), 400, "'format'")
        assert send({"tag": "loss", "max_points": MAX_POINTS}).status_code == 200
        assert send({"tag": "loss", "min_step": 9, "max_step": 9}).status_code == 200
    assert_error(
        client.post("/api/scalars", json={"tag": "loss", "min_step": 1.5}), 400, "'min_step'"
    )
    assert_error(client.post("/api/scalars", json={"runs": ["a"]}), 400, "'tag'")
    assert_error(client.post("/api/scalars", json={"tag": ""}), 400, "'tag'")
    assert_error(client.get("/api/scalars"), 400, "'tag'")
    assert_error(
        client.post(
            "/api/scalars", content=b"{not json", headers={"Content-Type": "application/json"}
        ),
        400,
    )


def test_unknown_runs_and_tags_are_404_in_the_one_error_shape(client: TestClient) -> None:
    response = client.post("/api/scalars", json={"tag": "loss", "runs": ["a", "nope"]})
    assert response.json() == {
        "error": {"status": 404, "message": "no run named 'nope' in this logdir"}
    }
    assert response.status_code == 404
    assert_error(client.post("/api/scalars", json={"tag": "no-such-tag"}), 404, "no-such-tag")
    assert_error(client.get("/api/scalars", params={"tag": "no-such-tag"}), 404, "no-such-tag")
    assert_error(
        client.post("/api/scalars", json={"tag": "odd", "runs": ["a", "b"]}), 404, "'b'", "'odd'"
    )
    assert_error(
        client.get("/api/scalars", params={"tag": "odd", "run": "b", "format": "binary"}),
        404,
        "'odd'",
    )


def test_a_tag_that_is_not_a_scalar_is_404_whether_or_not_the_run_is_named(
    client: TestClient,
) -> None:
    """``weights`` is a histogram of run c: no run has it as a scalar.

    Without a run it is a 404; naming the run must not turn it into an empty
    scalar series (total 0) that the page would draw as an empty chart while
    ``/api/tags`` says the tag has 3 points.
    """
    assert_error(client.get("/api/scalars", params={"tag": "weights"}), 404, "'weights'")
    tags = client.get("/api/tags", params={"points": True}).json()
    assert tags["c"]["weights"] == {
        "plugin": "histograms",
        "display_name": "",
        "description": "",
        "points": 3,
    }
    named = client.post("/api/scalars", json={"tag": "weights", "runs": ["c"]})
    assert_error(named, 404, "'weights'")


def test_an_unknown_api_route_answers_in_the_one_error_shape(client: TestClient) -> None:
    """docs/server.md: "Every error has the same shape" (the page reads ``error.message``)."""
    assert_error(client.get("/api/no-such-route"), 404)
    assert_error(client.delete("/api/scalars"), 405)


# -- 3. downsampling many runs in one request ------------------------------------------


def test_downsampling_many_runs_keeps_ends_and_spikes_as_one_run_at_a_time(
    client: TestClient, data: DataProvider
) -> None:
    n = 30
    body = client.post("/api/scalars", json={"tag": "loss", "max_points": n}).json()
    by_run = {s["run"]: s for s in body["series"]}
    assert list(by_run) == ["a", "b", "c", "d"]
    for run, series in by_run.items():
        steps, _, values = expected(run)
        kept = json_values(series)
        assert series["total"] == len(steps)
        assert len(series["step"]) <= n
        assert series["step"][0] == steps[0]
        assert series["step"][-1] == steps[-1]
        assert same_value(kept[0], values[0])
        assert same_value(kept[-1], values[-1])
        if len(steps) <= n:
            assert series["step"] == steps  # a short series comes whole
        else:
            assert len(series["step"]) < len(steps)
        finite = [v for v in values if not math.isnan(v)]
        assert min(finite) in kept  # the deepest dip
        if any(math.isnan(v) for v in values):
            assert any(math.isnan(v) for v in kept)  # a divergence is always shown
        else:
            assert max(values) in kept  # the highest spike
        # The same points as the one-run read, and as keep_spikes on the full series.
        alone = data.scalars(run, "loss", n)
        assert series["step"] == alone.steps.tolist()
        assert series["wall_time"] == alone.wall_times.tolist()
        assert same_values(kept, alone.values.tolist())
        chosen = keep_spikes(np.array(steps, dtype=np.int64), np.array(values), n).tolist()
        assert series["step"] == [steps[i] for i in chosen]
    assert {50.0, -40.0} <= set(json_values(by_run["a"]))
    assert 9.0 in json_values(by_run["c"])
    assert -math.inf in json_values(by_run["b"])


def test_a_step_range_is_cut_before_downsampling_each_run(client: TestClient) -> None:
    n, low, high = 12, 40, 1020
    body = client.post(
        "/api/scalars",
        json={
            "tag": "loss",
            "max_points": n,
            "min_step": low,
            "max_step": high,
            "format": "binary",
        },
    ).content
    for series in decode_columns(body)["series"]:
        steps, walls, values = expected(series["run"])
        inside = [i for i, s in enumerate(steps) if low <= s <= high]
        assert series["total"] == len(inside)
        cut_steps = np.array([steps[i] for i in inside], dtype=np.int64)
        cut_values = np.array([values[i] for i in inside])
        chosen = [inside[i] for i in keep_spikes(cut_steps, cut_values, n).tolist()]
        assert series["step"] == [float(steps[i]) for i in chosen]
        assert series["wall_time"] == [walls[i] for i in chosen]
        assert same_values(series["value"], [values[i] for i in chosen])


# -- 4. the cache across updates -------------------------------------------------------


def test_after_an_update_get_and_post_return_the_new_points(tmp_path: Path) -> None:
    root = tmp_path / "logs"
    with SummaryWriter(str(root / "live")) as writer:
        for step in range(5):
            writer.add_scalar("loss", float(step), step)
        writer.flush()
        provider = open_provider(root, tmp_path / "i.duckdb")
        try:
            client = TestClient(create_app(provider))
            first = provider.index.generation
            assert first > 0

            def steps() -> list[list[Any]]:
                got = client.get("/api/scalars", params={"tag": "loss"}).json()
                posted = client.post("/api/scalars", json={"tag": "loss"}).json()
                binary = decode_columns(
                    client.post("/api/scalars", json={"tag": "loss", "format": "binary"}).content
                )
                ranged = client.post("/api/scalars", json={"tag": "loss", "min_step": 3}).json()
                downsampled = client.get(
                    "/api/scalars", params={"tag": "loss", "max_points": 4}
                ).json()
                return [
                    got["series"][0]["step"],
                    posted["series"][0]["step"],
                    [int(s) for s in binary["series"][0]["step"]],
                    ranged["series"][0]["step"],
                    [downsampled["series"][0]["step"][-1], downsampled["series"][0]["total"]],
                ]

            assert steps() == [[0, 1, 2, 3, 4]] * 3 + [[3, 4], [4, 5]]
            assert steps() == [[0, 1, 2, 3, 4]] * 3 + [[3, 4], [4, 5]]  # now from the cache

            for step in range(5, 8):
                writer.add_scalar("loss", float(step), step)
            writer.flush()
            report = provider.update()
            assert report.events == 3
            second = provider.index.generation
            assert second > first
            new = list(range(8))
            assert steps() == [new] * 3 + [[3, 4, 5, 6, 7], [7, 8]]
            values = client.post("/api/scalars", json={"tag": "loss"}).json()["series"][0]
            assert values["value"] == [float(s) for s in new]
            assert client.get("/api/status").json()["generation"] == second

            # Nothing new: the generation stays, and so do the answers.
            assert provider.update().events == 0
            assert provider.index.generation == second
            assert steps() == [new] * 3 + [[3, 4, 5, 6, 7], [7, 8]]

            # A new run shows up in a request for every run that has the tag.
            with SummaryWriter(str(root / "new")) as other:
                other.add_scalar("loss", 42.0, 0)
            provider.update()
            assert provider.index.generation > second
            runs = client.post("/api/scalars", json={"tag": "loss"}).json()["series"]
            assert [s["run"] for s in runs] == ["live", "new"]
            assert runs[1]["value"] == [42.0]
            client.close()
        finally:
            provider.index.close()


def test_series_handed_out_do_not_share_memory_with_the_cache(
    client: TestClient, data: DataProvider
) -> None:
    """A caller of ``scalars_of_tag`` that changes the arrays it got (e.g. normalizes
    them in place) must not change what the server answers next: the cache has to
    hand out copies or read-only arrays."""
    before = client.post("/api/scalars", json={"tag": "loss", "runs": ["d"]}).json()
    for arguments in ({}, {"min_step": 2, "max_step": 6}):
        [(_, series)] = data.scalars_of_tag("loss", ["d"], **arguments)
        for array in (series.steps, series.wall_times, series.values):
            with contextlib.suppress(ValueError):  # read-only arrays refuse: fine
                array[:] = -1
    after = client.post("/api/scalars", json={"tag": "loss", "runs": ["d"]}).json()
    assert after == before


# -- 5. the same tag name with different tag ids in different runs ---------------------


def test_runs_whose_tag_ids_differ_get_their_own_series(tmp_path: Path) -> None:
    from torch.utils.tensorboard import SummaryWriter as TorchWriter

    root = tmp_path / "logs"
    with SummaryWriter(str(root / "a")) as writer:  # x, then y
        for step in range(10):
            writer.add_scalar("x", 100.0 + step, step)
        for step in range(8):
            writer.add_scalar("y", 200.0 + step, step)
    with TorchWriter(str(root / "b")) as torch_writer:  # y, then x: the ids swap
        for step in range(5):
            torch_writer.add_scalar("y", 400.0 + step, step)
        for step in range(7):
            torch_writer.add_scalar("x", 300.0 + step, step)
    provider = open_provider(root, tmp_path / "i.duckdb")
    try:
        infos = {run: provider.index.tag_infos(run) for run in ("a", "b")}
        assert infos["a"]["x"][0] != infos["b"]["x"][0]
        assert infos["a"]["y"][0] != infos["b"]["y"][0]
        assert infos["b"]["x"][1].plugin_name == "scalars"
        want = {
            ("a", "x"): [100.0 + s for s in range(10)],
            ("a", "y"): [200.0 + s for s in range(8)],
            ("b", "x"): [300.0 + s for s in range(7)],
            ("b", "y"): [400.0 + s for s in range(5)],
        }
        client = TestClient(create_app(provider))
        for _ in range(2):  # read, then from the cache
            for tag in ("x", "y", "x"):
                body = client.get("/api/scalars", params={"tag": tag}).json()
                assert {s["run"]: s["value"] for s in body["series"]} == {
                    "a": want[("a", tag)],
                    "b": want[("b", tag)],
                }
                for run in ("b", "a"):
                    binary = client.post(
                        "/api/scalars", json={"tag": tag, "runs": [run], "format": "binary"}
                    )
                    [one] = decode_columns(binary.content)["series"]
                    assert one["run"] == run
                    assert one["value"] == want[(run, tag)]
                    assert one["step"] == list(map(float, range(len(want[(run, tag)]))))
                    assert provider.scalars(run, tag).values.tolist() == want[(run, tag)]
        tags = client.get("/api/tags", params={"points": "true"}).json()
        assert {
            (run, tag): entry["points"] for run in tags for tag, entry in tags[run].items()
        } == {key: len(values) for key, values in want.items()}
        client.close()
    finally:
        provider.index.close()


# -- 6. server-sent events -------------------------------------------------------------


def read_event(lines: Iterator[str]) -> tuple[str, dict[str, Any]]:
    """The next event (comments skipped) as (name, data)."""
    name, payload = None, None
    for line in lines:
        if line.startswith(":"):
            continue
        if line == "":
            if name is not None or payload is not None:
                break
            continue
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            name = value
        elif field == "data":
            payload = value
    else:
        raise AssertionError("the stream ended")
    assert name is not None
    assert payload is not None
    return name, json.loads(payload)


def test_events_start_with_the_state_and_are_not_gzipped(
    client: TestClient, data: DataProvider
) -> None:
    started = time.monotonic()
    with client.stream("GET", "/api/events", headers={"Accept-Encoding": "gzip"}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert "content-encoding" not in response.headers
        assert response.headers["cache-control"] == "no-store"
        name, state = read_event(response.iter_lines())
    assert time.monotonic() - started < 10
    assert name == "state"
    assert state["generation"] == data.index.generation > 0
    assert state["loading"] is False


@contextlib.contextmanager
def serving(app: FastAPI) -> Iterator[int]:
    """``app`` on a real uvicorn server in a thread, on a free port of 127.0.0.1."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    config = uvicorn.Config(app, log_level="warning", lifespan="off", timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert thread.is_alive(), "the server stopped"
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.01)
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()
    assert not thread.is_alive(), "the server did not stop"


def raw_get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    """GET ``path`` exactly as written (no client-side normalization of ``..``)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.putrequest("GET", path, skip_accept_encoding=True)
        for key, value in (headers or {}).items():
            connection.putheader(key, value)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_an_update_pushes_a_state_event_with_a_bigger_generation(tmp_path: Path) -> None:
    root = tmp_path / "logs"
    with SummaryWriter(str(root / "run")) as writer:
        writer.add_scalar("loss", 1.0, 0)
    provider = open_provider(root, tmp_path / "i.duckdb")
    updates = {"count": 1}
    try:
        app = create_app(
            provider,
            status=lambda: {"loading": False, "updates": updates["count"], "error": None},
            events_interval=0.05,
        )
        with serving(app) as port:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            try:
                connection.request("GET", "/api/events", headers={"Accept-Encoding": "gzip"})
                response = connection.getresponse()
                assert response.status == 200
                assert response.getheader("content-type", "").startswith("text/event-stream")
                assert response.getheader("content-encoding") is None
                lines = (
                    line.decode("utf-8").rstrip("\r\n") for line in iter(response.readline, b"")
                )
                name, state = read_event(lines)
                assert name == "state"
                assert state == {
                    "loading": False,
                    "updates": 1,
                    "error": None,
                    "generation": provider.index.generation,
                }
                first = state["generation"]

                with SummaryWriter(str(root / "run")) as writer:
                    writer.add_scalar("loss", 2.0, 1)
                assert provider.update().events > 0
                updates["count"] += 1
                assert provider.index.generation > first

                deadline = time.monotonic() + 10
                while True:
                    assert time.monotonic() < deadline, "no new state arrived"
                    name, state = read_event(lines)
                    if state["generation"] > first:
                        break
                assert name == "state"
                assert state["generation"] == provider.index.generation
                assert state["updates"] == 2
                response.close()
            finally:
                connection.close()
    finally:
        provider.index.close()


# -- 7. the page and its assets --------------------------------------------------------


def page_assets(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="\.?/?(assets/[^"]+)"', html)


def test_the_page_has_a_csp_and_its_assets_are_cached_for_good(data: DataProvider) -> None:
    web = web_dist()
    assert web is not None, "the web app is built in this checkout"
    with TestClient(create_app(data, web=web)) as client:
        page = client.get("/")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert page.headers["cache-control"] == "no-cache"
        assets = page_assets(page.text)
        assert any(a.endswith(".js") for a in assets)
        assert any(a.endswith(".css") for a in assets)
        for asset in assets:
            response = client.get("/" + asset)
            assert response.status_code == 200, asset
            assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
            assert response.content == (web / asset).read_bytes()
        missing = client.get("/assets/index-no-such-file.js")
        assert missing.status_code == 404


TRAVERSALS = [
    "/assets/../../../../etc/passwd",
    "/assets/%2e%2e/%2e%2e/etc/passwd",
    "/assets/..%2f..%2fapp.py",
    # These would reach real files (stepscope/server/app.py, /etc/passwd) if they got out.
    "/assets/..%2f..%2f..%2fserver%2fapp.py",
    "/assets/%2e%2e/%2e%2e/%2e%2e/server/app.py",
    "/assets/%2e%2e%2f%2e%2e%2f%2e%2e%2fserver%2fapp.py",
    "/assets/..%2f..%2f..%2f..%2f..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd",
    "/assets//etc/passwd",
    "/assets/%2fetc%2fpasswd",
]


def test_path_traversal_never_reads_a_file_outside_the_assets(data: DataProvider) -> None:
    web = web_dist()
    assert web is not None
    assert "import" in (web.parent.parent / "server" / "app.py").read_text()  # a real target
    with serving(create_app(data, web=web)) as port:
        status, body = raw_get(port, "/" + page_assets((web / "index.html").read_text())[0])
        assert status == 200  # the server serves assets: the refusals below mean something
        for path in TRAVERSALS:
            status, body = raw_get(port, path)
            assert status in (400, 404), (path, status)
            assert b"root:" not in body, path
            assert b"import" not in body, path


def test_without_a_built_page_the_root_says_so(data: DataProvider) -> None:
    with TestClient(create_app(data, web=None)) as client:
        response = client.get("/")
        assert response.status_code == 503
        assert response.headers["content-type"].startswith("text/html")
        assert "was not built" in response.text
        assert client.get("/api/runs").status_code == 200  # the API is still served


# -- 8. the token ----------------------------------------------------------------------


def test_the_token_in_the_url_becomes_an_httponly_cookie(data: DataProvider) -> None:
    web = web_dist()
    assert web is not None
    app = create_app(data, token="s3cret", web=web)
    with TestClient(app, follow_redirects=False) as client:
        assert client.get("/").status_code == 403
        redirect = client.get("/", params={"token": "s3cret", "view": "scalars"})
        assert redirect.status_code == 303
        location = redirect.headers["location"]
        assert "s3cret" not in location
        assert "token" not in location
        assert urlsplit(location).path == "/"
        assert "view=scalars" in location
        cookie = redirect.headers["set-cookie"]
        assert cookie.startswith("stepscope_token=s3cret")
        assert "httponly" in cookie.lower()
        assert "samesite=strict" in cookie.lower()
        page = client.get(location)  # the client sends the cookie
        assert page.status_code == 200
        assert "script-src 'self'" in page.headers["content-security-policy"]
        with client.stream("GET", "/api/events") as events:
            assert events.status_code == 200
            assert read_event(events.iter_lines())[0] == "state"

    with TestClient(app) as fresh:
        assert_error(fresh.get("/api/events"), 403, "token")
        assert_error(fresh.get("/api/events", params={"token": "wrong"}), 403)
        assert_error(fresh.post("/api/scalars", json={"tag": "loss"}), 403, "token")
        assert_error(
            fresh.post(
                "/api/scalars", json={"tag": "loss"}, headers={"Authorization": "token wrong"}
            ),
            403,
        )
        posted = fresh.post(
            "/api/scalars",
            json={"tag": "loss", "runs": ["d"]},
            headers={"Authorization": "token s3cret"},
        )
        assert posted.status_code == 200
        assert posted.json()["series"][0]["step"] == expected("d")[0]
        assert "set-cookie" not in posted.headers  # the header is not turned into a cookie


# -- 9. /api/tags ----------------------------------------------------------------------


def test_tags_count_points_only_when_asked(client: TestClient) -> None:
    plain = client.get("/api/tags").json()
    assert set(plain) == {"a", "b", "c", "d"}
    assert all("points" not in entry for run in plain.values() for entry in run.values())
    assert set(plain["a"]) == {"loss", "odd"}
    assert set(plain["c"]) == {"loss", "weights"}

    counted = client.get("/api/tags", params={"points": "true"}).json()
    assert {
        (run, tag): entry["points"] for run, tags in counted.items() for tag, entry in tags.items()
    } == {
        ("a", "loss"): 600,
        ("a", "odd"): 4,
        ("b", "loss"): 250,
        ("c", "loss"): 40,
        ("c", "weights"): 3,
        ("d", "loss"): 10,
    }
    scalars = client.get("/api/tags", params={"plugin": "scalars", "points": "true"}).json()
    assert set(scalars["c"]) == {"loss"}
    assert scalars["a"]["loss"] == {
        "plugin": "scalars",
        "display_name": "",
        "description": "",
        "points": 600,
    }
    assert client.get("/api/tags", params={"points": "false"}).json() == plain


# -- 10. keep_spikes_many against a reference ------------------------------------------


def reference_keep(steps: list[int], values: list[float], max_points: int) -> set[int]:
    """The contract of ``downsample.py``, one point at a time."""
    count = len(steps)
    if count <= max_points:
        return set(range(count))
    kept = {0}
    if max_points >= 2:
        kept.add(count - 1)
    buckets = (max_points - 2) // 2
    if buckets < 1:
        return kept
    inner = list(range(1, count - 1))
    # The bucket of each inner point is computed in float64, with the same operations
    # in the same order as the module ((step - low) / spread * buckets, truncated; by
    # position when all inner steps are equal in float64). Python floats are IEEE
    # float64, so a point on a bucket boundary lands exactly where the module puts it
    # instead of causing a false failure.
    low, high = float(steps[inner[0]]), float(steps[inner[-1]])
    spread = high - low
    groups: dict[int, list[int]] = {}
    for position, i in enumerate(inner):
        if spread > 0:
            bucket = min(int((float(steps[i]) - low) / spread * buckets), buckets - 1)
        else:
            bucket = min(position * buckets // len(inner), buckets - 1)
        groups.setdefault(bucket, []).append(i)
    for members in groups.values():
        numbers = [i for i in members if not math.isnan(values[i])]
        nans = [i for i in members if math.isnan(values[i])]
        # The smallest: the first of the lowest (a group of only NaN: its first point).
        kept.add(min(numbers, key=lambda i: (values[i], i)) if numbers else members[0])
        # The largest: NaN counts as the largest (the last NaN), else the last of the highest.
        kept.add(nans[-1] if nans else max(numbers, key=lambda i: (values[i], i)))
    return kept


SMALL = st.integers(-3, 3).map(float)  # ties within a bucket
VALUES = st.one_of(
    SMALL,
    SMALL,
    SMALL,
    st.sampled_from([-0.0, math.nan, math.inf, -math.inf]),
    st.floats(allow_nan=True, allow_infinity=True),
)
STEPS = st.one_of(st.integers(-3, 12), st.integers(-3, 12), st.integers(-(2**62), 2**62))
ONE_SERIES = (
    st.integers(0, 50)
    .flatmap(lambda size: st.lists(st.tuples(STEPS, VALUES), min_size=size, max_size=size))
    .map(lambda points: sorted(points, key=lambda p: p[0]))
)  # sorted by step, stable


@settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.lists(ONE_SERIES, min_size=0, max_size=6), st.integers(1, 20))
def test_keep_spikes_many_matches_the_reference(
    many: list[list[tuple[int, float]]], max_points: int
) -> None:
    steps = np.array([s for series in many for s, _ in series], dtype=np.int64)
    values = np.array([v for series in many for _, v in series], dtype=np.float64)
    bounds = np.r_[0, np.cumsum([len(series) for series in many])].astype(np.int64)
    kept = keep_spikes_many(bounds, steps, values, max_points)
    assert kept.dtype == np.int64
    assert np.all(np.diff(kept) > 0)
    want: set[int] = set()
    for start, series in zip(bounds.tolist(), many, strict=False):
        chosen = reference_keep([s for s, _ in series], [v for _, v in series], max_points)
        assert len(chosen) <= max_points
        want |= {start + i for i in chosen}
    assert set(kept.tolist()) == want


def read_frames(body: bytes) -> list[bytes]:
    """Split ``POST /api/scalars/batch``'s answer into its length-prefixed frames."""
    frames, offset = [], 0
    while offset < len(body):
        (length,) = struct.unpack_from("<I", body, offset)
        frames.append(body[offset + 4 : offset + 4 + length])
        offset += 4 + length
    assert offset == len(body), "the last frame is whole"
    return frames


def test_a_batch_answers_each_query_in_order_with_errors_in_their_place(
    client: TestClient,
) -> None:
    queries = [
        {"tag": "loss", "max_points": 20},
        {"tag": "no-such-tag"},
        {"tag": "loss", "runs": ["a"], "min_step": 10, "max_step": 20},
        {"tag": "loss", "min_step": 5, "max_step": 1},
    ]
    response = client.post("/api/scalars/batch", json={"queries": queries})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.stepscope.frames")
    assert "content-encoding" not in response.headers
    frames = read_frames(response.content)
    assert len(frames) == len(queries)
    for query, frame in zip(queries, frames, strict=True):
        if frame.startswith(b"ERR1"):
            error = json.loads(frame[4:])["error"]
            single = client.post("/api/scalars", json=query)
            assert error == single.json()["error"], "the same error as asked alone"
            continue
        alone = client.post("/api/scalars", json={**query, "format": "binary"})
        assert frame == alone.content, "byte for byte what the query gets alone"
        assert decode_columns(frame)["tag"] == "loss"
    assert frames[1].startswith(b"ERR1")
    assert b"404" in frames[1]
    assert frames[3].startswith(b"ERR1")
    assert b"min_step" in frames[3]
    empty = client.post("/api/scalars/batch", json={"queries": []})
    assert_error(empty, 400, "queries")


def test_steps_beyond_int32_travel_as_float64(tmp_path: Path) -> None:
    root = tmp_path / "logs"
    steps = [0, 2**31 - 1, 2**31, 2**40 + 3]
    with SummaryWriter(str(root / "big")) as writer:
        for i, step in enumerate(steps):
            writer.add_scalar("x", float(i), step)
    provider = open_provider(root, tmp_path / "i.duckdb")
    try:
        client = TestClient(create_app(provider))
        body = client.post("/api/scalars", json={"tag": "x", "format": "binary"}).content
        header = json.loads(body[8 : 8 + struct.unpack_from("<I", body, 4)[0]])
        assert header["series"][0]["step"] == "f8"
        [series] = decode_columns(body)["series"]
        assert series["step"] == [float(s) for s in steps]
        assert series["value"] == [0.0, 1.0, 2.0, 3.0]
    finally:
        provider.index.close()
