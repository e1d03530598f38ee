"""The dashboard's HTTP API and the `stepscope --logdir` command, against a real index and real processes."""

from __future__ import annotations

import gzip
import json
import math
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from stepscope import SummaryWriter
from stepscope.loader.discovery import parse_logdir_spec
from stepscope.server.app import create_app
from stepscope.server.serve import Follower, is_loopback
from stepscope.store.index import Index
from stepscope.store.provider import DataProvider

SCRIPT_RUN = "<script>alert(1)</script>"


@pytest.fixture
def logdir(tmp_path: Path) -> Path:
    root = tmp_path / "logs"
    for run, offset in (("a", 0.0), ("b", 10.0), (SCRIPT_RUN, 20.0)):
        with SummaryWriter(str(root / run)) as writer:
            for step in range(300):
                writer.add_scalar("loss", offset + step * 0.01, step)
            writer.add_scalar("odd", math.nan, 0)
            writer.add_scalar("odd", math.inf, 1)
            writer.add_scalar("odd", -math.inf, 2)
    return root


@pytest.fixture
def data(logdir: Path, tmp_path: Path) -> Iterator[DataProvider]:
    provider = DataProvider(Index.open(parse_logdir_spec(str(logdir)), str(tmp_path / "i.duckdb")))
    provider.update()
    yield provider
    provider.index.close()


def test_runs_tags_and_one_tag_for_every_run_in_columns(data: DataProvider) -> None:
    client = TestClient(create_app(data))
    runs = client.get("/api/runs").json()
    assert [r["name"] for r in runs] == sorted(["a", "b", SCRIPT_RUN])
    assert all(r["corrupt_records"] == 0 and r["problems"] == [] for r in runs)
    tags = client.get("/api/tags", params={"plugin": "scalars", "points": True}).json()
    assert tags["a"]["loss"]["points"] == 300
    body = client.get("/api/scalars", params={"tag": "loss"}).json()
    by_run = {s["run"]: s for s in body["series"]}
    assert set(by_run) == {"a", "b", SCRIPT_RUN}
    assert by_run["b"]["step"] == list(range(300))
    assert by_run["b"]["value"][5] == pytest.approx(10.05, rel=1e-6)
    assert by_run["b"]["total"] == 300


def test_downsampling_keeps_first_last_and_is_bounded(data: DataProvider) -> None:
    client = TestClient(create_app(data))
    body = client.get("/api/scalars", params={"tag": "loss", "run": "a", "max_points": 20}).json()
    [series] = body["series"]
    assert len(series["step"]) <= 20
    assert series["step"][0] == 0
    assert series["step"][-1] == 299
    assert series["total"] == 300


def test_non_finite_values_are_sent_as_strings_javascript_reads(data: DataProvider) -> None:
    client = TestClient(create_app(data))
    response = client.get("/api/scalars", params={"tag": "odd", "run": "a"})
    json.loads(response.text, parse_constant=pytest.fail)  # strict JSON: no bare NaN
    assert response.json()["series"][0]["value"] == ["NaN", "Infinity", "-Infinity"]


def test_errors_have_one_shape_404_and_400_naming_the_parameter(data: DataProvider) -> None:
    client = TestClient(create_app(data))
    missing = client.get("/api/scalars", params={"tag": "loss", "run": "nope"})
    assert missing.status_code == 404
    assert missing.json() == {
        "error": {"status": 404, "message": "no run named 'nope' in this logdir"}
    }
    assert client.get("/api/scalars", params={"tag": "no-such-tag"}).status_code == 404
    bad = client.get("/api/scalars", params={"tag": "loss", "max_points": "many"})
    assert bad.status_code == 400
    assert "max_points" in bad.json()["error"]["message"]
    zero = client.get("/api/scalars", params={"tag": "loss", "max_points": 0})
    assert zero.status_code == 400
    assert client.get("/api/scalars").status_code == 400  # tag is required


def test_a_script_tag_in_a_run_name_is_data_in_json_not_html(data: DataProvider) -> None:
    client = TestClient(create_app(data))
    response = client.get("/api/runs")
    assert response.headers["content-type"].startswith("application/json")
    assert SCRIPT_RUN in [r["name"] for r in response.json()]


def test_responses_are_gzipped_and_openapi_is_documented(data: DataProvider) -> None:
    client = TestClient(create_app(data))
    response = client.get(
        "/api/scalars", params={"tag": "loss"}, headers={"Accept-Encoding": "gzip"}
    )
    assert response.headers.get("content-encoding") == "gzip"
    paths = client.get("/api/openapi.json").json()["paths"]
    assert {"/api/runs", "/api/tags", "/api/scalars", "/api/status"} <= set(paths)


def test_a_token_is_required_when_one_is_set(data: DataProvider) -> None:
    client = TestClient(create_app(data, token="s3cret"))
    refused = client.get("/api/runs")
    assert refused.status_code == 403
    assert "token" in refused.json()["error"]["message"]
    assert client.get("/api/runs", params={"token": "wrong"}).status_code == 403
    assert client.get("/api/runs", params={"token": "s3cret"}).status_code == 200
    # The cookie set by the tokened URL carries on.
    assert client.get("/api/tags").status_code == 200
    fresh = TestClient(create_app(data, token="s3cret"))
    assert fresh.get("/api/runs", headers={"Authorization": "token s3cret"}).status_code == 200


def test_only_loopback_counts_as_local() -> None:
    assert is_loopback("127.0.0.1")
    assert is_loopback("::1")
    assert is_loopback("localhost")
    assert not is_loopback("0.0.0.0")
    assert not is_loopback("192.168.1.4")


def test_the_follower_reports_a_vanished_logdir_and_recovers(
    logdir: Path, data: DataProvider
) -> None:
    follower = Follower(data.update, interval=0.05)
    follower.step()
    assert follower.status()["error"] is None
    moved = logdir.with_name("moved")
    logdir.rename(moved)
    follower.step()
    assert "does not exist" in follower.status()["error"]
    assert len(data.runs()) == 3  # what was read is still served
    moved.rename(logdir)
    with SummaryWriter(str(logdir / "a")) as writer:
        writer.add_scalar("loss", 99.0, 300)
    follower.step()
    assert follower.status()["error"] is None
    assert data.scalars("a", "loss").steps[-1] == 300


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _run_cli(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "stepscope", *args], capture_output=True, text=True, timeout=60
    )


def _start(args: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "stepscope", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(url: str, process: subprocess.Popen[str]) -> bytes:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited: {process.communicate()}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                body: bytes = response.read()
                if response.headers.get("content-encoding") == "gzip":
                    body = gzip.decompress(body)
                return body
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer")


@pytest.mark.slow
def test_the_command_serves_follows_a_writer_and_stops_on_ctrl_c(
    logdir: Path, tmp_path: Path
) -> None:
    port = _free_port()
    process = _start(
        [
            "--logdir",
            str(logdir),
            "--port",
            str(port),
            "--index",
            str(tmp_path / "s.duckdb"),
            "--reload_interval",
            "0.2",
            "--load_fast",
            "false",
        ]
    )
    try:
        runs = json.loads(_wait_for(f"http://127.0.0.1:{port}/api/runs", process))
        assert len(runs) == 3
        with SummaryWriter(str(logdir / "c")) as writer:
            writer.add_scalar("loss", 1.5, 7)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            names = [
                r["name"]
                for r in json.loads(_wait_for(f"http://127.0.0.1:{port}/api/runs", process))
            ]
            if "c" in names:
                break
            time.sleep(0.1)
        assert "c" in names
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert f"http://localhost:{port}/" in err
    assert "?token=" not in err  # loopback: no token
    assert "--load_fast is accepted but not needed" in err
    assert "Traceback" not in err


@pytest.mark.slow
def test_a_busy_port_given_is_one_error_line_and_exit_1(logdir: Path, tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = _run_cli(
            ["--logdir", str(logdir), "--port", str(port), "--index", str(tmp_path / "b.duckdb")]
        )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Error: ")
    assert str(port) in lines[0]


def test_a_missing_logdir_is_one_error_line(tmp_path: Path) -> None:
    result = _run_cli(
        ["--logdir", str(tmp_path / "missing"), "--index", str(tmp_path / "m.duckdb")]
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"Error: logdir {tmp_path / 'missing'} does not exist or is not a directory; check the path"
    ]


@pytest.mark.slow
def test_bind_all_without_no_auth_prints_a_tokened_url(logdir: Path, tmp_path: Path) -> None:
    port = _free_port()
    process = _start(
        [
            "--logdir",
            str(logdir),
            "--port",
            str(port),
            "--bind_all",
            "--index",
            str(tmp_path / "t.duckdb"),
        ]
    )
    try:
        deadline = time.monotonic() + 60
        status = None
        while status is None and time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/runs", timeout=5)
                status = 200
            except urllib.error.HTTPError as error:
                status = error.code
            except OSError:
                time.sleep(0.2)
        assert status == 403
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    token_lines = [line for line in err.splitlines() if "?token=" in line]
    assert len(token_lines) == 1, err


@pytest.mark.slow
@pytest.mark.parametrize("when", ["serving", "reading"])
def test_sigterm_stops_the_server_as_ctrl_c_does_and_removes_its_info_file(
    logdir: Path, tmp_path: Path, when: str
) -> None:
    """A service manager (or ``kill``) stops servers with SIGTERM; it must clean up as Ctrl-C."""
    port = _free_port()
    if when == "reading":  # enough to read that SIGTERM arrives before the server listens
        with SummaryWriter(str(logdir / "big")) as writer:
            for step in range(200_000):
                writer.add_scalar("loss", 1.0, step)
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "stepscope", "--logdir", str(logdir)),
            *("--port", str(port), "--index", str(tmp_path / "t.duckdb")),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    info = Path(tmp_path) / f".stepscope-info-{os.getuid()}" / f"{process.pid}.json"
    try:
        deadline = time.monotonic() + 60
        while not info.exists() and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.05)
        assert info.exists(), "the server did not describe itself"
        if when == "serving":
            _wait_for(f"http://127.0.0.1:{port}/api/runs", process)
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "stepscope stopped." in err
    assert "Traceback" not in err
    assert not info.exists(), "SIGTERM left the server's info file behind"
