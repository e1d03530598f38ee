"""Finding runs in a logdir: the same runs TensorBoard finds, named the same way."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tensorboard.backend.event_processing.plugin_event_multiplexer import EventMultiplexer

from stepscope import SummaryWriter
from stepscope.errors import NotFoundError
from stepscope.loader import LogdirSource, discover, parse_logdir_spec


def write_run(directory: Path, files: int = 1) -> None:
    for _ in range(files):
        with SummaryWriter(str(directory)) as writer:
            writer.add_scalar("loss", 1.0, 1)


def tensorboard_runs(path: Path, name: str | None = None) -> set[str]:
    multiplexer = EventMultiplexer()
    multiplexer.AddRunsFromDirectory(str(path), name)
    return set(multiplexer.Runs())


@pytest.fixture
def logdir(tmp_path: Path) -> Path:
    root = tmp_path / "logs"
    write_run(root)  # the logdir itself is a run: "."
    write_run(root / "exp1", files=2)
    write_run(root / "exp1" / "nested" / "deeper")
    write_run(root / "with space" / "ünï")
    (root / "no_events").mkdir()
    (root / "no_events" / "notes.txt").write_text("not an event file")
    (root / "empty" / "a" / "b").mkdir(parents=True)
    profile = root / "profiled"
    profile.mkdir()
    (profile / "events.out.tfevents.123.host.profile-empty").write_bytes(b"")
    with SummaryWriter(str(root / "scalars")) as writer:
        writer.add_scalars("loss/total", {"train": 1.0, "val": 2.0}, 1)
    return root


def test_runs_match_tensorboards(logdir: Path) -> None:
    found = discover([LogdirSource(str(logdir))])
    assert set(found.runs) == tensorboard_runs(logdir)
    assert set(found.runs) == {
        ".",
        "exp1",
        "exp1/nested/deeper",
        "with space/ünï",
        "profiled",
        "scalars",
        "scalars/loss_total_train",
        "scalars/loss_total_val",
    }
    assert found.problems == []


def test_a_runs_files_are_in_name_order(logdir: Path) -> None:
    run = discover([LogdirSource(str(logdir))]).runs["exp1"]
    assert run.directory == str(logdir / "exp1")
    names = [os.path.basename(path) for path in run.files]
    assert len(names) == 2
    assert names == sorted(names)
    assert all("tfevents" in name for name in names)


def test_named_sources_prefix_their_runs(logdir: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    write_run(other / "run_a")
    sources = parse_logdir_spec(f"main:{logdir},side:{other}")
    found = discover(sources)
    assert "main" in found.runs  # TensorBoard calls this one "main/."
    assert {"main/exp1", "side/run_a"} <= set(found.runs)
    expected = {run.replace("/.", "") for run in tensorboard_runs(logdir, "main")}
    assert {run for run in found.runs if run.startswith("main")} == expected


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("/abs/logs", [(None, "/abs/logs")]),
        ("train:/abs/a,eval:/abs/b", [("train", "/abs/a"), ("eval", "/abs/b")]),
        ("/foo:bar/baz", [(None, "/foo:bar/baz")]),
        ("run:/path:with/colon", [("run", "/path:with/colon")]),
        ("a:/x,,/y", [("a", "/x"), (None, "/y")]),
    ],
)
def test_logdir_spec_is_parsed_as_tensorboard_does(
    spec: str, expected: list[tuple[str | None, str]]
) -> None:
    parsed = [(source.name, source.path) for source in parse_logdir_spec(spec)]
    assert parsed == [(name, os.path.realpath(path)) for name, path in expected]


def test_relative_and_home_paths_are_resolved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    [relative, home] = parse_logdir_spec("logs,h:~/runs")
    assert relative == LogdirSource(str(tmp_path / "logs"))
    assert home == LogdirSource(str(tmp_path / "home" / "runs"), "h")


def test_a_missing_logdir_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError) as error:
        discover([LogdirSource(str(tmp_path / "missing"))])
    message = str(error.value)
    assert "\n" not in message
    assert str(tmp_path / "missing") in message
    assert "check the path" in message


def test_ten_thousand_empty_directories_hold_no_run(tmp_path: Path) -> None:
    for i in range(100):
        for j in range(100):
            (tmp_path / f"d{i}" / f"e{j}").mkdir(parents=True)
    write_run(tmp_path / "d42" / "e7")
    found = discover([LogdirSource(str(tmp_path))])
    assert list(found.runs) == ["d42/e7"]


def test_a_symlink_loop_is_walked_once(tmp_path: Path) -> None:
    write_run(tmp_path / "a")
    os.symlink(tmp_path, tmp_path / "a" / "back_to_top")
    os.symlink(tmp_path / "a", tmp_path / "alias_of_a")
    found = discover([LogdirSource(str(tmp_path))])
    assert set(found.runs) == {"a"}
