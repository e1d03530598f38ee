"""The command line: the demo writes a logdir TensorBoard reads, errors are one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner
from tensorboard.backend.event_processing.event_multiplexer import EventMultiplexer

import stepscope
from stepscope.cli import cli


def test_demo_writes_every_kind_and_reports_it(tmp_path: Path) -> None:
    logdir = tmp_path / "demo"
    result = CliRunner().invoke(cli, ["demo", str(logdir), "--steps", "60"])
    assert result.exit_code == 0, result.output
    assert f"Wrote a demo logdir to {logdir}" in result.output
    for line in ("run lr_0.1:", "scalars         loss/train", "images          samples"):
        assert line in result.output
    multiplexer = EventMultiplexer(size_guidance={"scalars": 0, "tensors": 0, "images": 0})
    multiplexer.AddRunsFromDirectory(str(logdir))
    multiplexer.Reload()
    assert {"lr_0.1", "lr_0.03", "lr_0.01", "lr_0.1/hparams", "lr_0.1/compare_train"} <= set(
        multiplexer.Runs()
    )
    losses = multiplexer.Scalars("lr_0.1", "loss/train")
    assert [event.step for event in losses] == list(range(60))
    tags = multiplexer.GetAccumulator("lr_0.1").Tags()
    assert set(tags["images"]) == {"samples"}
    assert set(tags["histograms"]) == {"weights/layer1"}
    assert set(tags["audio"]) == {"tone"}


def test_demo_into_a_file_is_one_error_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    result = CliRunner().invoke(cli, ["demo", str(blocker / "logs")])
    assert result.exit_code == 1
    assert result.output.startswith("Error: ")
    assert len(result.output.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_python_dash_m_prints_version() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "stepscope", "--version"], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == f"stepscope, version {stepscope.__version__}"


def test_importing_stepscope_does_not_import_torch() -> None:
    code = "import sys, stepscope; w = stepscope.SummaryWriter; print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
