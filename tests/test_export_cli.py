"""``stepscope export``: CSV, JSON Lines and Parquet, filters, and its errors.

Every export is compared with what ``Logdir.scalars()`` returns for the same
logdir (read through a separate index, so the two never share a file).
Points are compared as sorted lists (the export's order among points of
one step is not specified); floats bit for bit, any NaN equal to any NaN.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner, Result

import stepscope
from stepscope.cli import cli
from stepscope.proto import event_pb2, summary_pb2
from stepscope.records import frame_record

WEIRD_RUN = 'we,ird "run"\nname'
WEIRD_TAG = 'loss, "smoothed"\nper batch'
HEADER = ["run", "tag", "step", "wall_time", "value"]

Point = tuple[str, str, int, str, str]


def fkey(x: float) -> str:
    return "nan" if math.isnan(x) else float(x).hex()


def point(run: str, tag: str, step: int, wall: float, value: float) -> Point:
    return (run, tag, int(step), fkey(wall), fkey(value))


def scalar(tag: str, step: int, wall: float, value: float) -> bytes:
    event = event_pb2.Event(
        wall_time=wall,
        step=step,
        summary=summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=tag, simple_value=value)]),
    )
    return frame_record(event.SerializeToString())


def histogram(tag: str, step: int) -> bytes:
    histo = summary_pb2.HistogramProto(min=0.0, max=1.0, num=1, bucket_limit=[1.0], bucket=[1.0])
    event = event_pb2.Event(
        wall_time=5.0,
        step=step,
        summary=summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=tag, histo=histo)]),
    )
    return frame_record(event.SerializeToString())


@pytest.fixture(scope="module")
def logdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("export") / "logs"
    runs = {
        "a/train": [("loss", s, 1.7e9 + s / 7, 1.0 / (s + 1)) for s in range(50)]
        + [("acc", s, 1.7e9 + s, s / 50) for s in range(0, 50, 5)],
        "a/eval": [("loss", s, 1.7e9 + s, 0.5) for s in range(0, 50, 10)]
        + [("lr/warmup", 3, 0.0, 1e-3)],
        "b": [
            ("loss", -(2**63), 1.0, math.nan),
            ("loss", 2**63 - 1, 2.0, math.inf),
            ("loss", 7, 3.25, -math.inf),
            ("loss", 7, 3.5, -0.0),  # the same step twice
            ("acc", 1, 4.0, 1.401298464324817e-45),
        ],
        WEIRD_RUN: [(WEIRD_TAG, s, 100.0 + s, s * 0.25) for s in range(3)]
        + [("plain", 1, 1.0, 2.0)],
    }
    for run, points in runs.items():
        directory = root / run
        directory.mkdir(parents=True)
        data = b"".join(scalar(*p) for p in points)
        data += histogram("weights", 1)  # not a scalar: never exported
        (directory / "events.out.tfevents.1.host").write_bytes(data)
    return root


@pytest.fixture(scope="module")
def expected(logdir: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Point]:
    index = tmp_path_factory.mktemp("reference") / "reference.duckdb"
    with stepscope.open(str(logdir), index=str(index)) as opened:
        frame = opened.scalars()
    assert list(frame.columns) == HEADER
    points = sorted(point(*row) for row in frame.itertuples(index=False, name=None))
    assert len(points) == 50 + 10 + 5 + 1 + 5 + 3 + 1
    assert {p[0] for p in points} == {"a/train", "a/eval", "b", WEIRD_RUN}
    return points


@pytest.fixture
def index(tmp_path: Path) -> str:
    return str(tmp_path / "cli-index" / "index.duckdb")


def export(*args: str) -> Result:
    return CliRunner().invoke(cli, ["export", *args], catch_exceptions=False)


def from_csv(text: str) -> tuple[list[str], list[Point]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    header, *rows = list(reader)
    return header, sorted(
        point(run, tag, int(step), float(wall), float(value))
        for run, tag, step, wall, value in rows
    )


def from_json_lines(text: str) -> list[Point]:
    """Points of an export in JSON Lines, where a non-finite value is null (JSON has no NaN)."""
    points = []
    for line in text.splitlines():
        record = json.loads(line)
        assert list(record) == HEADER
        if record["value"] is None:
            run, tag, step, wall = (record[key] for key in HEADER[:4])
            points.append((run, tag, int(step), fkey(wall), "null"))
        else:
            points.append(point(*(record[key] for key in HEADER)))
    return sorted(points)


def as_json(points: list[Point]) -> list[Point]:
    """What JSON Lines can say of ``points``: non-finite values become null."""
    return sorted(
        (run, tag, step, wall, "null" if value in ("nan", "inf", "-inf") else value)
        for run, tag, step, wall, value in points
    )


def matching(points: list[Point], run: str | None, tag: str | None) -> list[Point]:
    return [
        p
        for p in points
        if (run is None or re.search(run, p[0])) and (tag is None or re.search(tag, p[1]))
    ]


def test_csv_to_stdout_equals_logdir_scalars(
    logdir: Path, index: str, expected: list[Point]
) -> None:
    result = export(str(logdir), "--index", index)
    assert result.exit_code == 0, result.output
    header, points = from_csv(result.stdout_bytes.decode())
    assert header == HEADER
    assert points == expected
    # The weird run and tag came back whole: quoted commas, quotes and newlines.
    assert point(WEIRD_RUN, WEIRD_TAG, 2, 102.0, 0.5) in points


def test_csv_to_stdout_of_a_real_process(logdir: Path, index: str, expected: list[Point]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "stepscope", "export", str(logdir), "--index", index],
        capture_output=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    header, points = from_csv(result.stdout.decode())
    assert header == HEADER
    assert points == expected


def test_csv_to_a_file_with_a_quote_in_its_name(
    logdir: Path, index: str, expected: list[Point], tmp_path: Path
) -> None:
    output = tmp_path / "it's here.csv"
    result = export(str(logdir), "--index", index, "-o", str(output))
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes == b""
    assert f"Wrote {len(expected)} scalar points to {output}" in result.stderr
    with open(output, newline="") as f:
        header, points = from_csv(f.read())
    assert header == HEADER
    assert points == expected


def test_json_lines_equal_logdir_scalars(logdir: Path, index: str, expected: list[Point]) -> None:
    result = export(str(logdir), "--index", index, "--format", "json")
    assert result.exit_code == 0, result.output
    text = result.stdout_bytes.decode()
    assert len(text.splitlines()) == len(expected)
    assert from_json_lines(text) == as_json(expected)


def test_json_lines_are_strict_json(logdir: Path, index: str, expected: list[Point]) -> None:
    """Each line must be a valid JSON value: NaN and Infinity are not JSON.

    (Python's json module accepts them by default; strict parsers such as
    JavaScript's JSON.parse reject the whole line.)
    """
    result = export(str(logdir), "--index", index, "--format", "json", "--run", "^b$")
    assert result.exit_code == 0, result.output
    lines = result.stdout_bytes.decode().splitlines()
    assert len(lines) == len(matching(expected, "^b$", None)) == 5

    def refuse(constant: str) -> None:
        raise ValueError(f"{constant} is not JSON")

    not_json = []
    for line in lines:
        try:
            json.loads(line, parse_constant=refuse)
        except ValueError:
            not_json.append(line)
    assert not_json == []


def test_parquet_with_output(
    logdir: Path, index: str, expected: list[Point], tmp_path: Path
) -> None:
    output = tmp_path / "scalars.parquet"
    result = export(str(logdir), "--index", index, "--format", "parquet", "-o", str(output))
    assert result.exit_code == 0, result.output
    assert f"Wrote {len(expected)} scalar points" in result.stderr
    relation = duckdb.sql(f"SELECT * FROM '{output}'")
    assert relation.columns == HEADER
    assert [str(t) for t in relation.types] == ["VARCHAR", "VARCHAR", "BIGINT", "DOUBLE", "DOUBLE"]
    assert sorted(point(*row) for row in relation.fetchall()) == expected


def test_parquet_without_output_is_a_usage_error(logdir: Path, index: str) -> None:
    result = export(str(logdir), "--index", index, "--format", "parquet")
    assert result.exit_code == 2
    assert "-o" in result.stderr
    assert result.stdout_bytes == b""


@pytest.mark.parametrize(
    ("run", "tag"),
    [
        ("^a/", None),
        (None, "^loss$"),
        ("train", "acc|loss"),
        ("^b$", "^acc$"),
        ("name$", None),  # re.search across the newline of the weird run name
        ("nothing matches this", None),
    ],
)
def test_run_and_tag_filters(
    logdir: Path, index: str, expected: list[Point], run: str | None, tag: str | None
) -> None:
    args = [str(logdir), "--index", index]
    if run is not None:
        args += ["--run", run]
    if tag is not None:
        args += ["--tag", tag]
    result = export(*args)
    assert result.exit_code == 0, result.output
    header, points = from_csv(result.stdout_bytes.decode())
    assert header == HEADER
    wanted = matching(expected, run, tag)
    assert points == wanted
    if run == "nothing matches this":
        assert points == []


@pytest.mark.parametrize("option", ["--run", "--tag"])
@pytest.mark.parametrize("pattern", ["(", "[a-", "*x"])
def test_bad_regex_is_a_usage_error_naming_the_option(
    logdir: Path, index: str, option: str, pattern: str
) -> None:
    result = export(str(logdir), "--index", index, option, pattern)
    assert result.exit_code == 2
    assert option in result.stderr
    assert "regular expression" in result.stderr
    assert "Traceback" not in result.output
    assert result.stdout_bytes == b""


def test_missing_logdir_is_one_error_line(tmp_path: Path, index: str) -> None:
    missing = tmp_path / "no" / "such" / "logdir"
    result = export(str(missing), "--index", index)
    assert result.exit_code == 1
    assert result.stdout_bytes == b""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    assert str(missing) in lines[0]


def test_index_inside_the_logdir_is_refused(logdir: Path) -> None:
    result = export(str(logdir), "--index", str(logdir / "index.duckdb"))
    assert result.exit_code == 1
    [line] = result.stderr.splitlines()
    assert line.startswith("Error: ")
    assert not (logdir / "index.duckdb").exists()


def test_problems_are_warnings_and_the_rest_is_exported(tmp_path: Path, index: str) -> None:
    root = tmp_path / "logs"
    (root / "ok").mkdir(parents=True)
    (root / "ok" / "events.out.tfevents.1.a").write_bytes(scalar("loss", 1, 1.0, 2.0))
    (root / "bad").mkdir()
    garbage = root / "bad" / "events.out.tfevents.1.b"
    garbage.write_bytes(b"this is not an event file" * 100)
    result = export(str(root), "--index", index)
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 1
    assert str(garbage) in warnings[0]
    header, points = from_csv(result.stdout_bytes.decode())
    assert header == HEADER
    assert points == [point("ok", "loss", 1, 1.0, 2.0)]


def test_export_twice_with_one_index_reads_nothing_new(
    logdir: Path, index: str, expected: list[Point]
) -> None:
    first = export(str(logdir), "--index", index, "--format", "json")
    second = export(str(logdir), "--index", index, "--format", "json")
    assert first.exit_code == second.exit_code == 0
    assert from_json_lines(first.stdout_bytes.decode()) == as_json(expected)
    assert from_json_lines(second.stdout_bytes.decode()) == as_json(expected)
