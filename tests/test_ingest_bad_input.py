"""Loading a logdir with bad input through ``stepscope.open`` / ``Index.update``.

Truncated, empty, garbage, damaged, vanished and unreadable files; runs of
an unknown plugin; a logdir that does not exist; a logdir of nothing but
empty directories. In every case nothing crashes, everything readable is
read, and each problem is reported once per file, naming the file.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import stepscope
from stepscope.errors import NotFoundError
from stepscope.loader.discovery import discover as real_discover
from stepscope.proto import event_pb2, summary_pb2, tensor_pb2
from stepscope.records import frame_record

NOBODY = 65534


def scalar_payload(tag: str, step: int, value: float) -> bytes:
    return event_pb2.Event(
        wall_time=1_700_000_000.0 + step,
        step=step,
        summary=summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=tag, simple_value=value)]),
    ).SerializeToString()


def event_file(
    directory: Path, steps: range = range(20), tag: str = "loss", name: str = "1.host"
) -> tuple[Path, list[int]]:
    """An event file (file version, then one scalar per step); returns it and each record's offset."""
    directory.mkdir(parents=True, exist_ok=True)
    payloads = [event_pb2.Event(wall_time=1.0, file_version="brain.Event:2").SerializeToString()]
    payloads += [scalar_payload(tag, step, step * 0.5) for step in steps]
    offsets, data = [], bytearray()
    for payload in payloads:
        offsets.append(len(data))
        data += frame_record(payload)
    path = directory / f"events.out.tfevents.{name}"
    path.write_bytes(bytes(data))
    return path, offsets


def open_logdir(logdir: Path, tmp_path: Path) -> stepscope.Logdir:
    return stepscope.open(str(logdir), index=str(tmp_path / "index" / "index.duckdb"))


def problems_by_path(opened: stepscope.Logdir) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for _, path, message in opened.problems().itertuples(index=False):
        found.setdefault(path, []).append(message)
    return found


def run_row(opened: stepscope.Logdir, run: str) -> dict[str, object]:
    runs = opened.runs()
    [found] = runs[runs["run"] == run].to_dict("records")
    return found


def steps_of(opened: stepscope.Logdir, run: str, tag: str = "loss") -> list[int]:
    return opened.scalars(run=run, tag=tag)["step"].tolist()


def assert_one_line_naming(message: str, path: Path) -> None:
    assert str(path) in message
    assert "\n" not in message


@pytest.fixture(params=["in-process", "workers"])
def loading(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Parse in this process, or in worker processes (as a large load does)."""
    from stepscope.loader import workers
    from stepscope.store import index

    calls = []

    def counted(*args: object) -> Iterator[tuple[int, object]]:
        calls.append(args)
        return real_run_parallel(*args)  # type: ignore[arg-type]

    real_run_parallel = workers.run_parallel
    monkeypatch.setattr(workers, "run_parallel", counted)
    if request.param == "workers":
        monkeypatch.setattr(index, "PARALLEL_BYTES", 0)
        monkeypatch.setattr(index, "_cores", lambda: 2)
    yield str(request.param)
    assert bool(calls) == (request.param == "workers")


@pytest.fixture
def logdir(tmp_path: Path) -> Path:
    """A logdir with one good run beside whatever a test adds."""
    root = tmp_path / "logs"
    event_file(root / "good")
    return root


def test_truncated_file_reads_the_complete_records_then_the_rest(
    logdir: Path, tmp_path: Path
) -> None:
    path, offsets = event_file(logdir / "cut")
    data = path.read_bytes()
    cut = offsets[-1] + 20  # inside the last record's payload
    path.write_bytes(data[:cut])
    with open_logdir(logdir, tmp_path) as opened:
        assert steps_of(opened, "cut") == list(range(19))
        assert steps_of(opened, "good") == list(range(20))
        assert opened.problems().empty  # a partial tail is waited for, not reported
        assert run_row(opened, "cut")["corrupt_records"] == 0
        with open(path, "ab") as f:
            f.write(data[cut:])
        report = opened.refresh()
        assert report.problems == []
        assert steps_of(opened, "cut") == list(range(20))
        assert opened.problems().empty


def test_zero_length_file_is_an_empty_run(logdir: Path, tmp_path: Path) -> None:
    (logdir / "empty").mkdir()
    (logdir / "empty" / "events.out.tfevents.1.empty").write_bytes(b"")
    with open_logdir(logdir, tmp_path) as opened:
        row = run_row(opened, "empty")
        assert (row["events"], row["corrupt_records"], row["problems"]) == (0, 0, [])
        assert opened.problems().empty
        assert set(opened.tags()["run"]) == {"good"}
        assert steps_of(opened, "good") == list(range(20))


def test_garbage_file_is_one_problem_however_often_it_is_read(
    logdir: Path, tmp_path: Path, loading: str
) -> None:
    rng = np.random.default_rng(0)
    garbage = logdir / "garbage" / "events.out.tfevents.1.garbage"
    garbage.parent.mkdir()
    garbage.write_bytes(rng.bytes(100_000))
    with open_logdir(logdir, tmp_path) as opened:
        assert opened.last_update is not None
        assert [p for p in opened.last_update.problems if str(garbage) in p] != []
        assert list(problems_by_path(opened)) == [str(garbage)]
        [message] = problems_by_path(opened)[str(garbage)]
        assert_one_line_naming(message, garbage)
        row = run_row(opened, "garbage")
        assert row["problems"] == [message]
        assert row["corrupt_records"] >= 1
        assert steps_of(opened, "good") == list(range(20))
        with open(garbage, "ab") as f:  # more garbage: still the same one problem
            f.write(rng.bytes(10_000))
        assert opened.refresh().problems == []
        assert problems_by_path(opened) == {str(garbage): [message]}
    with open_logdir(logdir, tmp_path) as reopened:  # and after reopening the index
        assert reopened.last_update is not None
        assert reopened.last_update.problems == []
        assert problems_by_path(reopened) == {str(garbage): [message]}


def test_crc_mismatch_mid_file_loses_one_record(logdir: Path, tmp_path: Path) -> None:
    path, offsets = event_file(logdir / "damaged")
    data = bytearray(path.read_bytes())
    data[offsets[11] + 20] ^= 0xFF  # the payload of step 10
    path.write_bytes(bytes(data))
    with open_logdir(logdir, tmp_path) as opened:
        assert steps_of(opened, "damaged") == [s for s in range(20) if s != 10]
        [message] = problems_by_path(opened)[str(path)]
        assert_one_line_naming(message, path)
        assert list(problems_by_path(opened)) == [str(path)]
        row = run_row(opened, "damaged")
        assert row["corrupt_records"] == 1
        assert row["problems"] == [message]
        assert row["events"] == 20  # the file version and 19 scalars
        assert steps_of(opened, "good") == list(range(20))


def test_damaged_tag_name_does_not_become_a_tag(logdir: Path, tmp_path: Path) -> None:
    """A record skipped for its checksum must leave no trace, not even its (garbled) tag."""
    path, offsets = event_file(logdir / "damaged")
    data = bytearray(path.read_bytes())
    at = data.index(b"loss", offsets[11])
    data[at] ^= 0x01  # "loss" -> "moss" in the record of step 10
    path.write_bytes(bytes(data))
    with open_logdir(logdir, tmp_path) as opened:
        assert steps_of(opened, "damaged") == [s for s in range(20) if s != 10]
        assert run_row(opened, "damaged")["corrupt_records"] == 1
        tags = opened.tags()
        assert list(tags[tags["run"] == "damaged"]["tag"]) == ["loss"]


def test_each_bad_file_of_a_run_is_one_problem(logdir: Path, tmp_path: Path, loading: str) -> None:
    run = logdir / "mixed"
    first, _ = event_file(run, range(0, 10), name="1.a")
    damaged, offsets = event_file(run, range(10, 20), name="2.b")
    data = bytearray(damaged.read_bytes())
    data[offsets[3] + 15] ^= 0x10
    data[offsets[7] + 15] ^= 0x10  # two damaged records: still one problem for the file
    damaged.write_bytes(bytes(data))
    garbage = run / "events.out.tfevents.3.c"
    garbage.write_bytes(b"\x01\x02garbage" * 1000)
    last, _ = event_file(run, range(20, 30), name="4.d")
    with open_logdir(logdir, tmp_path) as opened:
        assert steps_of(opened, "mixed") == [s for s in range(30) if s not in (12, 16)]
        found = problems_by_path(opened)
        assert sorted(found) == sorted([str(damaged), str(garbage)])
        for path in (damaged, garbage):
            [message] = found[str(path)]
            assert_one_line_naming(message, path)
        assert str(first) not in " ".join(opened.problems()["message"])
        assert str(last) not in " ".join(opened.problems()["message"])
        assert len(run_row(opened, "mixed")["problems"]) == 2  # type: ignore[arg-type]


def test_unknown_plugin_is_a_tensor_not_a_problem(logdir: Path, tmp_path: Path) -> None:
    tensor = tensor_pb2.TensorProto(
        dtype=tensor_pb2.DataType.DT_INT32,
        tensor_shape=tensor_pb2.TensorShapeProto(
            dim=[tensor_pb2.TensorShapeProto.Dim(size=2), tensor_pb2.TensorShapeProto.Dim(size=3)]
        ),
        tensor_content=np.arange(6, dtype="<i4").tobytes(),
    )
    value = summary_pb2.Summary.Value(
        tag="custom/thing",
        metadata=summary_pb2.SummaryMetadata(
            plugin_data=summary_pb2.SummaryMetadata.PluginData(
                plugin_name="my_plugin", content=b"v1"
            )
        ),
        tensor=tensor,
    )
    run = logdir / "plugin"
    run.mkdir()
    event = event_pb2.Event(wall_time=5.0, step=3, summary=summary_pb2.Summary(value=[value]))
    (run / "events.out.tfevents.1.x").write_bytes(frame_record(event.SerializeToString()))
    with open_logdir(logdir, tmp_path) as opened:
        assert opened.problems().empty
        tags = opened.tags()
        [plugin] = tags[(tags["run"] == "plugin") & (tags["tag"] == "custom/thing")]["plugin"]
        assert plugin == "my_plugin"
        [point] = opened.data.tensors("plugin", "custom/thing")
        assert (point.step, point.wall_time) == (3, 5.0)
        assert np.asarray(point.value).tolist() == [[0, 1, 2], [3, 4, 5]]
        [summary] = opened.data.tags(run="plugin")
        assert summary.info.content == b"v1"
        assert summary.points == 1


def test_run_deleted_between_discovery_and_reading(
    logdir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, loading: str
) -> None:
    doomed = logdir / "doomed"
    files = [event_file(doomed, name="1.a")[0], event_file(doomed, name="2.b")[0]]
    calls = []

    def discover_then_delete(sources: list[object]) -> object:
        found = real_discover(sources)  # type: ignore[arg-type]
        calls.append(sorted(found.runs))
        if doomed.exists():
            shutil.rmtree(doomed)
        return found

    monkeypatch.setattr("stepscope.store.index.discover", discover_then_delete)
    with open_logdir(logdir, tmp_path) as opened:
        assert calls == [["doomed", "good"]]
        found = problems_by_path(opened)
        assert sorted(found) == sorted(str(path) for path in files)
        for path in files:
            [message] = found[str(path)]
            assert_one_line_naming(message, path)
            assert "disappeared" in message
        assert steps_of(opened, "good") == list(range(20))
        # The next update no longer finds the run: it is gone, with its problems.
        report = opened.refresh()
        assert report.removed_runs == ["doomed"]
        assert report.problems == []
        assert list(opened.runs()["run"]) == ["good"]
        assert opened.problems().empty
        assert steps_of(opened, "good") == list(range(20))


def test_run_deleted_after_it_was_read(logdir: Path, tmp_path: Path) -> None:
    event_file(logdir / "gone")
    with open_logdir(logdir, tmp_path) as opened:
        assert steps_of(opened, "gone") == list(range(20))
        shutil.rmtree(logdir / "gone")
        report = opened.refresh()
        assert report.removed_runs == ["gone"]
        assert report.problems == []
        assert list(opened.runs()["run"]) == ["good"]
        assert set(opened.scalars()["run"]) == {"good"}
        assert opened.problems().empty


def test_missing_logdir_raises_not_found(tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    with pytest.raises(NotFoundError, match="does not exist"):
        stepscope.open(str(missing), index=str(tmp_path / "index.duckdb"))


def test_missing_logdir_on_the_command_line_is_one_error_line(tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "stepscope",
            "export",
            str(missing),
            "--index",
            str(tmp_path / "index.duckdb"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    assert str(missing) in lines[0]


def test_ten_thousand_empty_directories(tmp_path: Path) -> None:
    root = tmp_path / "logs"
    root.mkdir()
    for i in range(10_000):
        (root / f"d{i:05d}").mkdir()
    with open_logdir(root, tmp_path) as opened:
        assert opened.last_update is not None
        assert opened.last_update.problems == []
        assert opened.runs().empty
        assert opened.problems().empty
        assert opened.scalars().empty
        assert opened.refresh().new_runs == []


# -- an unreadable file ------------------------------------------------------------------

CHILD = textwrap.dedent(
    """
    import json, os, sys

    import stepscope
    import stepscope.api

    logdir, index, warm_logdir, warm_index, unreadable, nobody = sys.argv[1:7]
    if os.geteuid() == 0:
        # Root reads any file: do the imports the loading path needs (the
        # interpreter lives where the unprivileged user cannot look), then
        # drop to nobody before reading the real logdir.
        with stepscope.open(warm_logdir, index=warm_index) as warm:
            warm.runs(), warm.problems(), warm.scalars(), warm.tags()
        os.setgroups([])
        os.setgid(int(nobody))
        os.setuid(int(nobody))
    try:
        with open(unreadable, "rb") as f:
            f.read(1)
        can_read = True
    except PermissionError:
        can_read = False
    with stepscope.open(logdir, index=index) as opened:
        first = list(opened.last_update.problems)
        second = list(opened.refresh().problems)
        result = {
            "uid": os.geteuid(),
            "can_read": can_read,
            "first": first,
            "second": second,
            "problems": [list(map(str, row)) for row in opened.problems().itertuples(index=False)],
            "runs": {
                row["run"]: [int(row["events"]), list(row["problems"])]
                for row in opened.runs().to_dict("records")
            },
            "steps": {
                run: sorted(int(s) for s in group["step"])
                for run, group in opened.scalars().groupby("run")
            },
        }
    print(json.dumps(result))
    """
)


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory the unprivileged user can traverse (pytest's own tmp dirs are private)."""
    directory = Path(tempfile.mkdtemp(prefix="stepscope-unreadable-"))
    try:
        directory.chmod(0o755)
        yield directory
    finally:
        shutil.rmtree(directory)


def test_unreadable_file_is_one_problem_and_the_rest_is_read(shared_dir: Path) -> None:
    root = shared_dir / "logs"
    readable, _ = event_file(root / "run", range(0, 10), name="1.a")
    unreadable, _ = event_file(root / "run", range(10, 20), name="2.b")
    event_file(root / "other")
    warm = shared_dir / "warm"
    event_file(warm / "run")
    (warm / "bad").mkdir()
    (warm / "bad" / "events.out.tfevents.1.x").write_bytes(b"garbage" * 100)
    index_dir = shared_dir / "index"
    index_dir.mkdir()
    for directory in [shared_dir, root, root / "run", root / "other", warm, index_dir]:
        directory.chmod(0o755)
    if os.geteuid() == 0:
        os.chown(index_dir, NOBODY, NOBODY)
    unreadable.chmod(0)
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            CHILD,
            str(root),
            str(index_dir / "index.duckdb"),
            str(warm),
            str(shared_dir / "warm-index.duckdb"),
            str(unreadable),
            str(NOBODY),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "HOME": str(shared_dir)},
    )
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["uid"] != 0
    assert found["can_read"] is False  # the file really is unreadable to the loader
    # Everything readable is read.
    assert found["steps"] == {"other": list(range(20)), "run": list(range(10))}
    # One problem, for the unreadable file, naming it, reported by the first update only.
    [[run, path, message]] = found["problems"]
    assert (run, path) == ("run", str(unreadable))
    assert_one_line_naming(message, unreadable)
    assert "Permission denied" in message or "cannot read" in message
    assert found["first"] == [message]
    assert found["second"] == []
    assert found["runs"]["run"][1] == [message]
    assert found["runs"]["other"] == [21, []]
    assert str(readable) not in message
