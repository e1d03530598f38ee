"""``stepscope.CheckpointManager``: real torch files, real restarts, real SIGKILLs.

Every checkpoint is written by ``torch.save`` and read back by ``torch.load``;
restarts are new managers (and, for the seed's loop and the crash test, new
Python processes); the run markers are read with TensorBoard's own loader.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import torch
from tensorboard.backend.event_processing.event_file_loader import LegacyEventFileLoader
from tensorboard.compat.proto import event_pb2

import stepscope
from stepscope import CheckpointManager, SummaryWriter, latest_checkpoint
from stepscope.checkpoint import (
    CheckpointLoadError,
    CheckpointNotFoundError,
    CheckpointWriteError,
    _Entry,
    _sweep,
)
from stepscope.errors import NotFoundError, UnprocessableError, UsageError

HOUR = 3600.0


class Tracked:
    """A user class inside a checkpoint: torch's weights_only loader refuses it."""

    def __init__(self, value: int) -> None:
        self.value = value


def state(step: int, size: int = 4) -> dict[str, Any]:
    return {"step": step, "weights": torch.full((size,), float(step))}


def steps(paths: list[str]) -> list[int]:
    return [int(re.fullmatch(r"ckpt-(\d+)\.pt", Path(p).name).group(1)) for p in paths]  # type: ignore[union-attr]


def temporaries(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if ".tmp-" in p.name)


# -- saving, numbering, listing -----------------------------------------------


def test_save_and_restore_a_model_and_optimizer(tmp_path: Path) -> None:
    model = torch.nn.Linear(3, 2)
    optimizer = torch.optim.Adam(model.parameters())
    model(torch.ones(1, 3)).sum().backward()
    optimizer.step()
    manager = CheckpointManager(tmp_path / "ckpts")
    path = manager.save(
        {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": 7}, 7
    )

    assert path == os.path.join(str(tmp_path / "ckpts"), "ckpt-7.pt")
    assert manager.latest_checkpoint == path == latest_checkpoint(tmp_path / "ckpts")
    restored = manager.restore()  # weights_only=True loads torch's own state dicts
    assert restored["step"] == 7
    assert torch.equal(restored["model"]["weight"], model.weight.detach())
    fresh = torch.optim.Adam(torch.nn.Linear(3, 2).parameters())
    fresh.load_state_dict(restored["optimizer"])
    assert fresh.state_dict()["state"][0]["step"] == optimizer.state_dict()["state"][0]["step"]


def test_numbers_follow_tensorflow_checkpoint_number_and_the_counter(tmp_path: Path) -> None:
    manager = CheckpointManager(tmp_path, max_to_keep=None)
    assert steps([manager.save(state(0)), manager.save(state(0))]) == [1, 2]
    assert steps([manager.save(state(10), checkpoint_number=torch.tensor(10))]) == [10]
    assert steps([manager.save(state(0))]) == [11]  # after the highest number used
    assert steps(manager.checkpoints) == [1, 2, 10, 11]


@pytest.mark.parametrize(
    ("step", "checkpoint_number", "message"),
    [
        (1, 1, "not both"),
        (2.5, None, "must be an integer"),
        (None, "3", "must be an integer"),
        (-1, None, "0 or more"),
    ],
)
def test_bad_step_is_a_usage_error(
    tmp_path: Path, step: Any, checkpoint_number: Any, message: str
) -> None:
    manager = CheckpointManager(tmp_path)
    with pytest.raises(UsageError, match=message):
        manager.save(state(1), step, checkpoint_number=checkpoint_number)
    assert manager.latest_checkpoint is None
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"max_to_keep": 0}, "max_to_keep must be a positive int or None"),
        ({"keep_checkpoint_every_n_hours": 0}, "keep_checkpoint_every_n_hours must be positive"),
        ({"checkpoint_name": "a/b"}, "checkpoint_name must be a file name prefix"),
    ],
)
def test_bad_arguments_are_usage_errors(
    tmp_path: Path, arguments: dict[str, Any], message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        CheckpointManager(tmp_path, **arguments)


def test_max_to_keep_deletes_the_oldest_and_none_keeps_all(tmp_path: Path) -> None:
    manager = CheckpointManager(tmp_path / "few", max_to_keep=2)
    for step in range(1, 5):
        manager.save(state(step), step)
    assert steps(manager.checkpoints) == [3, 4]
    assert sorted(p.name for p in (tmp_path / "few").glob("*.pt")) == ["ckpt-3.pt", "ckpt-4.pt"]

    keep_all = CheckpointManager(tmp_path / "all", max_to_keep=None)
    for step in range(1, 8):
        keep_all.save(state(step), step)
    assert steps(keep_all.checkpoints) == list(range(1, 8))
    assert all(os.path.isfile(path) for path in keep_all.checkpoints)


def test_saving_a_step_again_replaces_it_and_makes_it_the_latest(tmp_path: Path) -> None:
    manager = CheckpointManager(tmp_path, max_to_keep=3)
    for step in (10, 20, 30):
        manager.save(state(step), step)
    manager.save(state(99), 20)  # e.g. a rollback that saves step 20 again
    assert steps(manager.checkpoints) == [10, 30, 20]
    assert manager.restore()["weights"][0].item() == 99
    assert steps(CheckpointManager(tmp_path, max_to_keep=3).checkpoints) == [10, 30, 20]


def test_custom_checkpoint_name(tmp_path: Path) -> None:
    manager = CheckpointManager(tmp_path, checkpoint_name="model")
    path = manager.save(state(3), 3)
    assert Path(path).name == "model-3.pt"
    assert latest_checkpoint(tmp_path) is None  # looks for ckpt-<step>.pt
    assert latest_checkpoint(tmp_path, checkpoint_name="model") == path


# -- keep_checkpoint_every_n_hours ----------------------------------------------


def test_sweep_preserves_one_checkpoint_per_interval_as_tensorflow() -> None:
    times = [0.1, 0.5, 1.2, 1.5, 2.5, 2.6]  # hours after the manager started (0)
    entries = [_Entry(step, t * HOUR) for step, t in enumerate(times)]
    kept, dropped, last = _sweep(entries, 1, 1.0, 0.0)
    assert [(e.step, e.preserved) for e in kept] == [(2, True), (4, True), (5, False)]
    assert [e.step for e in dropped] == [0, 1, 3]
    assert last == 2.5 * HOUR
    # Saving one at a time decides the same.
    running: list[_Entry] = []
    last = 0.0
    for entry in entries:
        running, _, last = _sweep([*running, entry], 1, 1.0, last)
    assert running == kept
    assert _sweep(entries, None, 1.0, 0.0) == (entries, [], 0.0)


def test_preserved_checkpoints_survive_max_to_keep_and_restarts(tmp_path: Path) -> None:
    # A one-microsecond interval: every checkpoint leaving the window is preserved.
    manager = CheckpointManager(tmp_path, max_to_keep=2, keep_checkpoint_every_n_hours=1e-9)
    for step in range(1, 6):
        manager.save(state(step), step)
    assert steps(manager.checkpoints) == [1, 2, 3, 4, 5]
    assert steps(manager.preserved_checkpoints) == [1, 2, 3]

    again = CheckpointManager(tmp_path, max_to_keep=2)  # a new process, no interval
    assert steps(again.preserved_checkpoints) == [1, 2, 3]
    for step in (6, 7):
        again.save(state(step), step)
    assert steps(again.checkpoints) == [1, 2, 3, 6, 7]
    assert sorted(steps([str(p) for p in tmp_path.glob("*.pt")])) == [1, 2, 3, 6, 7]


def test_a_long_interval_preserves_nothing_yet(tmp_path: Path) -> None:
    manager = CheckpointManager(tmp_path, max_to_keep=2, keep_checkpoint_every_n_hours=1000)
    for step in range(1, 5):
        manager.save(state(step), step)
    assert steps(manager.checkpoints) == [3, 4]
    assert manager.preserved_checkpoints == []


# -- restarts and recovery ------------------------------------------------------


def test_a_new_manager_finds_checkpoints_and_order(tmp_path: Path) -> None:
    first = CheckpointManager(tmp_path, max_to_keep=3)
    for step in (30, 10, 20):
        first.save(state(step), step)
    second = CheckpointManager(tmp_path, max_to_keep=3)
    assert second.checkpoints == first.checkpoints
    assert steps(second.checkpoints) == [30, 10, 20]  # the order of saving, as TensorFlow's
    assert second.restore()["step"] == 20
    second.save(state(40), 40)
    assert steps(second.checkpoints) == [10, 20, 40]
    assert not (tmp_path / "ckpt-30.pt").exists()


def test_without_the_index_the_files_are_scanned_by_step(tmp_path: Path) -> None:
    manager = CheckpointManager(tmp_path, max_to_keep=None)
    for step in (10, 9, 100):
        manager.save(state(step), step)
    (tmp_path / "ckpt-index.json").unlink()
    (tmp_path / "ckpt-notes.txt").write_text("not a checkpoint")

    recovered = CheckpointManager(tmp_path, max_to_keep=None)
    assert steps(recovered.checkpoints) == [9, 10, 100]
    assert latest_checkpoint(tmp_path) == recovered.latest_checkpoint
    assert steps([recovered.save(state(0))]) == [101]
    assert json.loads((tmp_path / "ckpt-index.json").read_text())["highest_number"] == 101


def test_without_the_index_hourly_checkpoints_are_decided_from_file_times(
    tmp_path: Path,
) -> None:
    manager = CheckpointManager(tmp_path, max_to_keep=None)
    now = time.time()
    for step, hours_ago in [(1, 5.0), (2, 4.5), (3, 3.0)]:
        manager.save(state(step), step)
        os.utime(tmp_path / f"ckpt-{step}.pt", (now, now - hours_ago * HOUR))
    (tmp_path / "ckpt-index.json").unlink()

    recovered = CheckpointManager(tmp_path, max_to_keep=1, keep_checkpoint_every_n_hours=1)
    recovered.save(state(4), 4)
    # The oldest is kept; ckpt-2 came 30 minutes after it, ckpt-3 two hours after.
    assert steps(recovered.checkpoints) == [1, 3, 4]
    assert steps(recovered.preserved_checkpoints) == [1, 3]
    assert not (tmp_path / "ckpt-2.pt").exists()


def test_a_stale_index_adopts_the_file_saved_before_a_crash(tmp_path: Path) -> None:
    manager = CheckpointManager(tmp_path, max_to_keep=None)
    manager.save(state(1))
    manager.save(state(2))
    before = (tmp_path / "ckpt-index.json").read_bytes()
    manager.save(state(3))
    # As if the process died after renaming ckpt-3.pt, before writing the index.
    (tmp_path / "ckpt-index.json").write_bytes(before)
    (tmp_path / "ckpt-1.pt").unlink()  # and someone removed a file by hand

    recovered = CheckpointManager(tmp_path, max_to_keep=None)
    assert steps(recovered.checkpoints) == [2, 3]
    assert recovered.restore()["step"] == 3
    assert steps([recovered.save(state(4))]) == [4]  # ckpt-3 is not overwritten
    assert torch.load(tmp_path / "ckpt-3.pt")["step"] == 3


def test_an_unreadable_index_warns_and_scans(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manager = CheckpointManager(tmp_path)
    manager.save(state(5), 5)
    (tmp_path / "ckpt-index.json").write_text("{not json")
    assert steps(CheckpointManager(tmp_path).checkpoints) == [5]
    assert "checkpoint index" in capsys.readouterr().err


def test_leftover_temporary_files_are_ignored_and_only_dead_ones_removed(
    tmp_path: Path,
) -> None:
    CheckpointManager(tmp_path).save(state(1), 1)
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()  # its pid is now free: nobody is writing its temporary file
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        dead = f".ckpt-2.pt.tmp-{finished.pid}-0123abcd"
        alive = f".ckpt-3.pt.tmp-{sleeper.pid}-0123abcd"
        foreign = [".ckpt-4.pt.tmp-mine", "ckpt-5.pt.tmp-1-0123abcd", ".other-6.pt.tmp-1-0123abcd"]
        for name in [dead, alive, *foreign]:
            (tmp_path / name).write_bytes(b"partial")
        assert latest_checkpoint(tmp_path) == str(tmp_path / "ckpt-1.pt")

        manager = CheckpointManager(tmp_path)
        assert steps(manager.checkpoints) == [1]
        names = {p.name for p in tmp_path.iterdir()}
        assert dead not in names
        assert {alive, *foreign} <= names
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_failing_save_leaves_the_latest_checkpoint_alone(tmp_path: Path) -> None:
    manager = CheckpointManager(tmp_path)
    manager.save(state(1), 1)
    with pytest.raises(Exception, match="lambda"):
        manager.save({"bad": lambda: None}, 2)  # torch.save cannot pickle it
    assert temporaries(tmp_path) == []
    assert not (tmp_path / "ckpt-2.pt").exists()
    assert steps(CheckpointManager(tmp_path).checkpoints) == [1]
    assert manager.restore()["step"] == 1


# -- errors ---------------------------------------------------------------------


def test_restore_without_a_checkpoint_says_so(tmp_path: Path) -> None:
    manager = CheckpointManager(tmp_path / "empty")
    assert manager.latest_checkpoint is None
    assert latest_checkpoint(tmp_path / "empty") is None
    with pytest.raises(NotFoundError, match=re.escape(f"no checkpoint in {tmp_path / 'empty'}")):
        manager.restore()
    with pytest.raises(CheckpointNotFoundError, match=r"ckpt-9\.pt does not exist"):
        manager.restore(tmp_path / "empty" / "ckpt-9.pt")


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_a_damaged_checkpoint_names_the_file_and_the_others(tmp_path: Path, damage: str) -> None:
    manager = CheckpointManager(tmp_path)
    for step in (10, 20, 30):
        manager.save(state(step, size=10_000), step)
    latest = tmp_path / "ckpt-30.pt"
    data = latest.read_bytes()
    damaged = {"truncate": data[: len(data) // 2], "garbage": os.urandom(5000), "empty": b""}
    latest.write_bytes(damaged[damage])

    with pytest.raises(CheckpointLoadError) as caught:
        manager.restore()
    message = str(caught.value)
    assert isinstance(caught.value, UnprocessableError)
    assert f"checkpoint {latest} cannot be loaded" in message
    assert "(kept: ckpt-10.pt, ckpt-20.pt)" in message
    assert "\n" not in message
    assert manager.restore(tmp_path / "ckpt-20.pt")["step"] == 20


def test_weights_only_refuses_user_classes_unless_asked(tmp_path: Path) -> None:
    manager = CheckpointManager(tmp_path)
    manager.save({"custom": Tracked(4)}, 1)
    with pytest.raises(CheckpointLoadError, match=r"Tracked.*weights_only=False"):
        manager.restore()
    assert manager.restore(weights_only=False)["custom"].value == 4


def test_map_location_is_passed_to_torch(tmp_path: Path) -> None:
    manager = CheckpointManager(tmp_path)
    manager.save(state(1), 1)
    restored = manager.restore(map_location=torch.device("meta"))
    assert restored["weights"].device.type == "meta"


def root_ignores_permissions(directory: Path) -> bool:
    probe = directory / "probe"
    try:
        probe.touch()
    except PermissionError:
        return False
    probe.unlink()
    return True


def test_an_unwritable_directory_is_named(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        directory = locked
        if root_ignores_permissions(locked):
            # Running as root: permission bits do not stop writes, so make the
            # directory impossible another way (its parent is a regular file).
            (tmp_path / "a-file").write_text("x")
            directory = tmp_path / "a-file" / "ckpts"
        manager = CheckpointManager(directory)
        with pytest.raises(CheckpointWriteError, match=re.escape(str(directory))) as caught:
            manager.save(state(1), 1)
        assert isinstance(caught.value, OSError)
        assert manager.latest_checkpoint is None
    finally:
        locked.chmod(0o755)


def test_a_directory_under_a_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("x")
    directory = tmp_path / "a-file" / "ckpts"
    with pytest.raises(CheckpointWriteError, match=f"cannot write {re.escape(str(directory))}"):
        CheckpointManager(directory).save(state(1), 1)
    with pytest.raises(UsageError, match="must be a directory"):
        CheckpointManager(tmp_path / "a-file")


def test_torch_is_optional(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import sys
        import stepscope
        manager = stepscope.CheckpointManager(sys.argv[1])
        print("imported torch:", "torch" in sys.modules)
        sys.modules["torch"] = None  # from here on, as if torch were not installed
        print(manager.latest_checkpoint, stepscope.latest_checkpoint(sys.argv[1]))
        try:
            manager.save({})
        except stepscope.StepscopeError as error:
            print("error:", error)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, check=True
    )
    lines = done.stdout.splitlines()
    assert lines[:2] == ["imported torch: False", "None None"]
    assert re.match(r"error: .*PyTorch, which is not installed; install torch", lines[2])


# -- the run markers ------------------------------------------------------------


def checkpoint_events(run: Path) -> list[event_pb2.Event]:
    return [
        event
        for path in sorted(run.glob("*tfevents*"))
        for event in LegacyEventFileLoader(str(path)).Load()
        if event.HasField("session_log")
        and event.session_log.status == event_pb2.SessionLog.CHECKPOINT
    ]


def test_each_save_is_marked_in_the_run(tmp_path: Path) -> None:
    writer = SummaryWriter(tmp_path / "run")
    manager = CheckpointManager(tmp_path / "ckpts", writer=writer)
    paths = [manager.save(state(step), step) for step in (100, 200)]
    writer.add_checkpoint(Path("elsewhere/ckpt-300.pt"), 300, walltime=1_700_000_000.5)
    writer.close()

    events = checkpoint_events(tmp_path / "run")
    assert [(e.step, e.session_log.checkpoint_path) for e in events] == [
        (100, paths[0]),
        (200, paths[1]),
        (300, "elsewhere/ckpt-300.pt"),
    ]
    assert events[2].wall_time == 1_700_000_000.5


# -- seed 001: TensorFlow's checkpoint loop, in PyTorch, across processes -------

SEED_001_LOOP = """
import json, os, sys

import torch

import stepscope
from stepscope import SummaryWriter

os.chdir(sys.argv[1])
stop_at, num_steps = int(sys.argv[2]), int(sys.argv[3])
torch.manual_seed(0)
torch.set_num_threads(1)


def batch(step):
    generator = torch.Generator().manual_seed(step)
    x = torch.randn(16, 4, generator=generator)
    return x, x.sum(1, keepdim=True).sin()


checkpoint_path = 'saved_model'
checkpoint_path = os.path.join(os.getcwd(), checkpoint_path)

model_instance = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
optimizer = torch.optim.SGD(model_instance.parameters(), lr=0.05, momentum=0.9)

# ckpt = tf.train.Checkpoint(step=tf.Variable(0), model=model_instance)
def ckpt(step):
    return {"step": step, "model": model_instance.state_dict(), "optimizer": optimizer.state_dict()}

tensorboard_log_path = 'tensorboard_log'
tensorboard_log_path = os.path.join(os.getcwd(), tensorboard_log_path)
train_summary_writer = SummaryWriter(tensorboard_log_path + '/train')

ckpt_manager = stepscope.CheckpointManager(directory=checkpoint_path, max_to_keep=None,
                                           writer=train_summary_writer)
latest_ckpt = stepscope.latest_checkpoint(checkpoint_path)

step, restored = 0, None
if latest_ckpt:
    state = ckpt_manager.restore(latest_ckpt)
    model_instance.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    step = restored = state["step"]
    print('global_step : {}, checkpoint is restored!'.format(step), file=sys.stderr)

save_checkpoint_steps = 10

while step < min(stop_at, num_steps):
    x, y = batch(step)
    total_loss = torch.nn.functional.mse_loss(model_instance(x), y)
    optimizer.zero_grad()
    total_loss.backward()
    optimizer.step()
    step += 1  # ckpt.step.assign_add(1)

    train_summary_writer.add_scalar('total_loss', total_loss.item(), global_step=step)

    if step % save_checkpoint_steps == 0:
        ckpt_manager.save(ckpt(step), checkpoint_number=step)
        print('global_step : {}, checkpoint is saved!'.format(step), file=sys.stderr)

train_summary_writer.close()
weights = [p.detach().reshape(-1).tolist() for p in model_instance.parameters()]
print(json.dumps({"restored": restored, "step": step, "weights": weights}))
"""


def run_seed_loop(workdir: Path, stop_at: int, num_steps: int) -> dict[str, Any]:
    workdir.mkdir(exist_ok=True)
    done = subprocess.run(
        [sys.executable, "-c", SEED_001_LOOP, str(workdir), str(stop_at), str(num_steps)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


@pytest.mark.slow
def test_seed_001_loop_resumes_in_a_new_process(tmp_path: Path) -> None:
    interrupted = tmp_path / "interrupted"
    first = run_seed_loop(interrupted, stop_at=55, num_steps=100)  # dies at 55; last save 50
    second = run_seed_loop(interrupted, stop_at=100, num_steps=100)
    straight = run_seed_loop(tmp_path / "straight", stop_at=100, num_steps=100)

    assert (first["restored"], first["step"]) == (None, 55)
    assert (second["restored"], second["step"]) == (50, 100)
    # Model and optimizer (momentum) state came back exactly: same weights as a
    # run that was never interrupted.
    assert second["weights"] == straight["weights"]
    assert second["weights"] != first["weights"]
    manager = CheckpointManager(interrupted / "saved_model", max_to_keep=None)
    assert steps(manager.checkpoints) == list(range(10, 101, 10))
    marks = checkpoint_events(interrupted / "tensorboard_log" / "train")
    assert sorted((e.step, e.session_log.checkpoint_path) for e in marks) == [
        (step, str(interrupted / "saved_model" / f"ckpt-{step}.pt")) for step in range(10, 101, 10)
    ]


# -- SIGKILL in the middle of saves ---------------------------------------------

SAVE_FOREVER = """
import sys

import torch

import stepscope

manager = stepscope.CheckpointManager(sys.argv[1], max_to_keep=3)
step = manager.restore()["step"] if manager.latest_checkpoint else 0
while True:
    step += 1
    print("saving", step, flush=True)
    manager.save({"step": step, "weights": torch.full((2_000_000,), float(step))}, step)
    print("saved", step, flush=True)
"""
# When each round kills the saving process: once it is writing a checkpoint's
# temporary file, or this many seconds after it announced a save.
KILL_MOMENTS: list[str | float] = ["writing", 0.0, "writing", 0.002, 0.01, 0.03]


def assert_complete(path: str) -> int:
    step = steps([path])[0]
    loaded = torch.load(path, weights_only=True)
    assert loaded["step"] == step
    assert torch.equal(loaded["weights"], torch.full((2_000_000,), float(step)))
    return step


def wait_until_writing(directory: Path, process: subprocess.Popen[str]) -> None:
    """Return once ``process`` has a checkpoint temporary file open in ``directory``.

    Gives up after a minute (saves that never use a temporary file are caught
    by the test's ``leftovers`` check, not by a hang).
    """
    marker = f".pt.tmp-{process.pid}-"
    deadline = time.monotonic() + 60
    while not any(marker in name for name in os.listdir(directory)):
        assert process.poll() is None, "the saving process ended early"
        if time.monotonic() > deadline:
            return


def kill_while_saving(directory: Path, moment: str | float) -> tuple[int, int]:
    """Run the saving loop, SIGKILL it at ``moment``; (last save done, last save begun)."""
    process = subprocess.Popen(
        [sys.executable, "-c", SAVE_FOREVER, str(directory)], stdout=subprocess.PIPE, text=True
    )
    watchdog = threading.Timer(600, process.kill)  # never hang the suite
    watchdog.start()
    assert process.stdout is not None
    lines: list[str] = []
    try:
        while not lines or not lines[-1].startswith("saved"):  # one complete save first
            lines.append(process.stdout.readline())
            assert lines[-1], "the saving process ended early"
        if moment == "writing":
            wait_until_writing(directory, process)
        else:
            lines.append(process.stdout.readline())  # "saving <n>"
            time.sleep(float(moment))  # lands in different parts of the save
        process.send_signal(signal.SIGKILL)
        process.wait()
        lines += process.stdout.read().splitlines()  # what it printed before dying
    finally:
        watchdog.cancel()
        process.stdout.close()
    numbers = [(word, int(number)) for word, number in (line.split() for line in lines)]
    done = max(n for word, n in numbers if word == "saved")
    begun = max(n for word, n in numbers if word == "saving")
    return done, begun


@pytest.mark.slow
def test_sigkill_during_saves_keeps_the_latest_complete_checkpoint(tmp_path: Path) -> None:
    directory = tmp_path / "ckpts"
    leftovers = 0
    for moment in KILL_MOMENTS:
        done, begun = kill_while_saving(directory, moment)
        leftovers += len(temporaries(directory))
        latest = latest_checkpoint(directory)
        assert latest is not None
        # Every finished save is there; the killed one either completed its
        # rename or left nothing the manager would list.
        assert done <= assert_complete(latest) <= begun
    assert leftovers > 0  # some kills did land while a checkpoint was being written

    manager = CheckpointManager(directory, max_to_keep=3)
    assert temporaries(directory) == []  # the killed saves' leftovers are cleaned up
    restored = manager.restore()
    assert restored["step"] == steps([manager.latest_checkpoint or ""])[0]
    assert torch.equal(restored["weights"], torch.full((2_000_000,), float(restored["step"])))
    listed = [assert_complete(path) for path in manager.checkpoints]
    assert listed == sorted(listed)
    assert listed[-1] == restored["step"]


def test_package_exports() -> None:
    assert stepscope.CheckpointManager is CheckpointManager
    assert stepscope.latest_checkpoint is latest_checkpoint
