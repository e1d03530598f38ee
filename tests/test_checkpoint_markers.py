"""Checkpoints (``SessionLog CHECKPOINT`` events) in the index, the data interface and the API.

Event files are written by stepscope's SummaryWriter and torch's, with the
checkpoint events added through each writer's own file writer
(``_get_file_writer().add_event``), as a checkpointing callback does.
TensorBoard's own event-file loader is the reference for what the files
hold. The rest covers what the index adds: restarts (``SessionLog START``)
dropping later checkpoints, incremental reads adding exactly the new ones,
the record-by-record path, an index of the previous schema, and the route.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import duckdb
import numpy as np
import pytest
from fastapi.testclient import TestClient
from tensorboard.backend.event_processing.event_file_loader import LegacyEventFileLoader
from tensorboard.compat.proto import event_pb2 as tb_event_pb2
from torch.utils.tensorboard import SummaryWriter as TorchSummaryWriter

import stepscope.store.index as index_module
from stepscope import SummaryWriter
from stepscope.errors import NotFoundError
from stepscope.loader import fast
from stepscope.loader.chunk import parse_run
from stepscope.loader.discovery import parse_logdir_spec
from stepscope.loader.model import FileState, MemorySink
from stepscope.loader.run_loader import RunLoader
from stepscope.proto import event_pb2, summary_pb2
from stepscope.records import frame_record
from stepscope.server.app import create_app
from stepscope.store.index import Index
from stepscope.store.provider import Checkpoint, DataProvider

WALL0 = 1_700_000_000.0


def checkpoint_event(module: object, step: int, path: str, msg: str = "") -> object:
    """A ``SessionLog CHECKPOINT`` event of ``module`` (stepscope's or TensorBoard's event_pb2)."""
    log = module.SessionLog(  # type: ignore[attr-defined]
        status=module.SessionLog.CHECKPOINT,  # type: ignore[attr-defined]
        checkpoint_path=path,
        msg=msg,
    )
    return module.Event(step=step, session_log=log)  # type: ignore[attr-defined]


def ckpt(run_dir: Path, step: int) -> str:
    return str(run_dir / f"ckpt-{step}.pt")


def write_ours(run_dir: Path, steps: range, checkpoints: list[int], **kwargs: object) -> None:
    """Scalars at ``steps`` and a checkpoint event at each of ``checkpoints`` (stepscope's writer)."""
    with SummaryWriter(str(run_dir), **kwargs) as writer:  # type: ignore[arg-type]
        for step in steps:
            writer.add_scalar("loss", 1.0 / (step + 1), step, walltime=WALL0 + step)
            if step in checkpoints:
                event = checkpoint_event(event_pb2, step, ckpt(run_dir, step), f"saved {step}")
                writer._get_file_writer().add_event(event, step=step, walltime=WALL0 + step + 0.5)


def write_torch(run_dir: Path, steps: range, checkpoints: list[int]) -> None:
    """The same with torch's SummaryWriter and TensorBoard's event protos."""
    writer = TorchSummaryWriter(str(run_dir))
    for step in steps:
        writer.add_scalar("loss", 2.0 / (step + 1), step, walltime=WALL0 + step)
        if step in checkpoints:
            event = checkpoint_event(tb_event_pb2, step, ckpt(run_dir, step))
            writer._get_file_writer().add_event(event, step=step, walltime=WALL0 + step + 0.5)
    writer.close()


def tensorboard_checkpoints(run_dir: Path) -> list[Checkpoint]:
    """What TensorBoard's own loader finds in a run's files: every CHECKPOINT, in file order."""
    found = []
    for path in sorted(p for p in run_dir.iterdir() if "tfevents" in p.name):
        for event in LegacyEventFileLoader(str(path)).Load():
            log = event.session_log
            if event.HasField("session_log") and log.status == log.CHECKPOINT:
                found.append(
                    Checkpoint(run_dir.name, event.step, event.wall_time, log.checkpoint_path)
                )
    return found


def open_index(logdir: Path, path: Path | str = ":memory:") -> DataProvider:
    data = DataProvider(Index.open(parse_logdir_spec(str(logdir)), str(path)))
    data.update()
    return data


@pytest.fixture
def provider(tmp_path: Path) -> Iterator[DataProvider]:
    logdir = tmp_path / "logs"
    write_ours(logdir / "ours", range(100), [25, 50, 75])
    write_torch(logdir / "torch", range(60), [0, 30, 59])
    write_ours(logdir / "plain", range(10), [])
    data = open_index(logdir)
    yield data
    data.index.close()


def test_checkpoints_of_both_writers_are_read_as_tensorboard_reads_them(
    provider: DataProvider, tmp_path: Path
) -> None:
    logdir = tmp_path / "logs"
    for run in ("ours", "torch"):
        expected = tensorboard_checkpoints(logdir / run)
        assert len(expected) == 3
        assert provider.checkpoints(run) == expected
    assert [c.step for c in provider.checkpoints("ours")] == [25, 50, 75]
    assert provider.checkpoints("ours")[0] == Checkpoint(
        "ours", 25, WALL0 + 25.5, ckpt(logdir / "ours", 25)
    )
    everything = provider.checkpoints()
    assert [(c.run, c.step) for c in everything] == [
        ("ours", 25),
        ("ours", 50),
        ("ours", 75),
        ("torch", 0),
        ("torch", 30),
        ("torch", 59),
    ]
    # The scalars around them are read as before.
    assert len(provider.scalars("ours", "loss").steps) == 100
    # The SQL view also holds each event's message.
    messages = provider.sql("SELECT message FROM checkpoints WHERE run = 'ours' ORDER BY step")
    assert messages["message"].tolist() == ["saved 25", "saved 50", "saved 75"]


def test_a_run_without_checkpoints_gives_none_and_an_unknown_run_is_not_found(
    provider: DataProvider,
) -> None:
    assert provider.checkpoints("plain") == []
    with pytest.raises(NotFoundError, match="no run named 'nope'"):
        provider.checkpoints("nope")


def test_a_restart_drops_the_checkpoints_at_and_after_its_step(tmp_path: Path) -> None:
    logdir = tmp_path / "logs"
    run_dir = logdir / "resumed"
    write_ours(run_dir, range(40), [10, 20, 30])
    for path in list(run_dir.iterdir()):  # the first attempt ran a while ago
        parts = path.name.split(".")
        parts[3] = f"{int(parts[3]) - 1:010d}"
        path.rename(path.with_name(".".join(parts)))
    between = open_index(logdir)  # reads the first attempt before the restart exists
    assert [c.step for c in between.checkpoints("resumed")] == [10, 20, 30]
    write_ours(run_dir, range(20, 30), [25], purge_step=20)

    after = open_index(logdir)  # both attempts in one read
    between.update()  # the restart in a later read
    for data in (after, between):
        found = data.checkpoints("resumed")
        assert [(c.step, c.path) for c in found] == [
            (10, ckpt(run_dir, 10)),
            (25, ckpt(run_dir, 25)),
        ]
        assert data.scalars("resumed", "loss").steps.tolist() == list(range(30))
        data.index.close()


def test_an_incremental_read_adds_exactly_the_new_checkpoints(tmp_path: Path) -> None:
    logdir = tmp_path / "logs"
    run_dir = logdir / "live"
    writer = SummaryWriter(str(run_dir))
    file_writer = writer._get_file_writer()
    index_path = tmp_path / "index.duckdb"
    data = open_index(logdir, index_path)
    try:
        for new, expected in [([5], [5]), ([6, 7], [5, 6, 7]), ([], [5, 6, 7])]:
            for step in new:
                writer.add_scalar("loss", float(step), step)
                event = checkpoint_event(event_pb2, step, ckpt(run_dir, step))
                file_writer.add_event(event, step=step)
            writer.flush()
            report = data.update()
            assert (report.events > 0) == bool(new)
            assert [c.step for c in data.checkpoints("live")] == expected
    finally:
        writer.close()
        data.index.close()
    # A restart on the unchanged logdir reads nothing and keeps them once each.
    again = open_index(logdir, index_path)
    assert again.update().events == 0
    assert [c.step for c in again.checkpoints("live")] == [5, 6, 7]
    again.index.close()


def test_both_loader_paths_catch_checkpoints(tmp_path: Path) -> None:
    """Among plain scalars (the vectorized walk) and after a record it cannot walk (one by one)."""

    def scalar(step: int) -> bytes:
        value = summary_pb2.Summary.Value(tag="loss", simple_value=float(step))
        return event_pb2.Event(
            wall_time=WALL0 + step, step=step, summary=summary_pb2.Summary(value=[value])
        ).SerializeToString()

    def checkpoint(step: int, wall: float) -> bytes:
        event = checkpoint_event(event_pb2, step, f"/ckpt/{step}.pt", "m")
        event.wall_time = wall  # type: ignore[attr-defined]
        return event.SerializeToString()  # type: ignore[attr-defined]

    # A wall time of 0 is not written at all: the event does not start with it,
    # so the vectorized walk stops there and the rest is read record by record.
    payloads = [scalar(0), checkpoint(1, WALL0 + 1), scalar(2), checkpoint(3, 0.0), scalar(4)]
    data = b"".join(frame_record(p) for p in payloads)
    path = tmp_path / "events.out.tfevents.1.host"
    path.write_bytes(data)
    walked = fast.walk(np.frombuffer(data, dtype=np.uint8))
    assert len(walked.starts) == 3  # the checkpoint at step 3 is beyond the walk

    chunk = parse_run("run", [FileState(str(path))])
    assert [c[1:] for c in chunk.checkpoints] == [
        (1, WALL0 + 1, "/ckpt/1.pt", "m"),
        (3, 0.0, "/ckpt/3.pt", "m"),
    ]
    assert chunk.steps.tolist() == [0, 2, 4]
    sink = MemorySink()
    RunLoader("run").load([str(path)], sink)
    assert sink.checkpoints == {
        "run": [(1, WALL0 + 1, "/ckpt/1.pt", "m"), (3, 0.0, "/ckpt/3.pt", "m")]
    }
    sink.purge("run", 2)
    assert sink.checkpoints == {"run": [(1, WALL0 + 1, "/ckpt/1.pt", "m")]}


def test_an_index_of_the_previous_schema_is_rebuilt_with_its_checkpoints(tmp_path: Path) -> None:
    logdir = tmp_path / "logs"
    write_ours(logdir / "ours", range(30), [10, 20])
    index_path = tmp_path / "index.duckdb"
    open_index(logdir, index_path).index.close()
    # What version 1 wrote: no checkpoint table, and every file read to its end.
    con = duckdb.connect(str(index_path))
    con.execute("DROP VIEW checkpoints")
    con.execute("DROP TABLE _checkpoints")
    con.execute("UPDATE _meta SET value = '1' WHERE key = 'schema_version'")
    con.close()
    assert index_module.SCHEMA_VERSION >= 2  # any later version rebuilds a version-1 index too

    data = open_index(logdir, index_path)
    assert [c.step for c in data.checkpoints("ours")] == [10, 20]
    data.index.close()


def test_the_route_lists_checkpoints_and_refuses_a_bad_run(provider: DataProvider) -> None:
    with TestClient(create_app(provider)) as client:
        everything = client.get("/api/checkpoints")
        assert everything.status_code == 200
        body = everything.json()
        assert [(c["run"], c["step"]) for c in body][:3] == [
            ("ours", 25),
            ("ours", 50),
            ("ours", 75),
        ]
        assert set(body[0]) == {"run", "step", "wall_time", "path"}
        assert body[0]["wall_time"] == WALL0 + 25.5
        assert body[0]["path"].endswith(os.sep + "ckpt-25.pt")
        torch_only = client.get("/api/checkpoints", params={"run": "torch"}).json()
        assert [c["step"] for c in torch_only] == [0, 30, 59]
        assert client.get("/api/checkpoints", params={"run": "plain"}).json() == []

        empty = client.get("/api/checkpoints", params={"run": ""})
        assert empty.status_code == 400
        message = empty.json()["error"]["message"]
        assert message.startswith("bad parameter 'run'")
        assert "\n" not in message
        missing = client.get("/api/checkpoints", params={"run": "nope"})
        assert missing.status_code == 404
        assert missing.json() == {
            "error": {"status": 404, "message": "no run named 'nope' in this logdir"}
        }


def test_the_python_api_gives_checkpoints_as_a_frame(tmp_path: Path) -> None:
    import stepscope

    logdir = tmp_path / "logs"
    write_ours(logdir / "ours", range(30), [10, 20])
    write_ours(logdir / "plain", range(5), [])
    with stepscope.open(str(logdir), str(tmp_path / "index.duckdb")) as opened:
        frame = opened.checkpoints()
        assert list(frame.columns) == ["run", "step", "wall_time", "path"]
        assert frame["step"].tolist() == [10, 20]
        assert frame["path"].tolist() == [ckpt(logdir / "ours", 10), ckpt(logdir / "ours", 20)]
        assert opened.checkpoints(run="plain").empty
