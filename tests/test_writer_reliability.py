"""Reliability of the background event writer (``stepscope.writer``).

What a training script relies on: ``flush()`` means "on disk", ``close()``
is idempotent and logging after it starts a new file, mistakes raise at the
call, nothing is lost at interpreter exit, a SIGKILL leaves a file that reads
cleanly, write failures surface at the next call without dropping data,
threads can share a writer, deferred work snapshots its inputs, and memory
stays bounded under a flood of scalars. Everything process-level runs in a
child interpreter (``sys.executable -c``) with a timeout.
"""

from __future__ import annotations

import errno
import io
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

import stepscope
from stepscope import EventWriteError, SummaryWriter
from stepscope.plugins.histograms.summary import histogram_value
from stepscope.plugins.images.summary import gif_value, video_frames
from stepscope.proto import event_pb2
from stepscope.records import RecordReader
from stepscope.writer.encoding import ScalarEventEncoder, varint

# -- helpers --------------------------------------------------------------------------


def event_files(logdir: Path) -> list[Path]:
    return sorted(p for p in logdir.iterdir() if "tfevents" in p.name and p.is_file())


def read_file(path: Path) -> tuple[list[event_pb2.Event], RecordReader]:
    reader = RecordReader(str(path))
    events = [event_pb2.Event.FromString(payload) for payload in reader.read()]
    return events, reader


def read_clean(path: Path) -> list[event_pb2.Event]:
    """Every event of a file that must be complete and undamaged."""
    events, reader = read_file(path)
    assert reader.problems == [], reader.problems
    assert reader.corrupt_records == 0
    assert reader.offset == path.stat().st_size, "the file ends in a partial record"
    assert events, f"{path} is empty"
    assert events[0].file_version == "brain.Event:2"
    return events


def scalars(events: list[event_pb2.Event], tag: str) -> list[tuple[int, float]]:
    return [
        (event.step, value.simple_value)
        for event in events
        for value in event.summary.value
        if value.tag == tag and value.WhichOneof("value") == "simple_value"
    ]


def steps_of(events: list[event_pb2.Event], tag: str) -> list[int]:
    return [step for step, _ in scalars(events, tag)]


def values_of(events: list[event_pb2.Event], tag: str) -> list[event_pb2.Event]:
    return [e for e in events for v in e.summary.value if v.tag == tag]


def run_child(code: str, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def assert_child_ok(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert "stepscope:" not in result.stderr, result.stderr


# -- flush / close ---------------------------------------------------------------------


def test_flush_makes_every_logged_event_readable_while_open(tmp_path: Path) -> None:
    writer = SummaryWriter(str(tmp_path))
    rng = np.random.default_rng(0)
    try:
        for step in range(10_000):
            writer.add_scalar("loss", step * 0.25, step)
            if step % 1000 == 0:
                writer.add_scalar("lr", 0.1, step, new_style=True)
                writer.add_text("note", f"step {step}", step)
        writer.add_histogram("small", rng.standard_normal(100), 1)  # binned at the call
        writer.add_histogram("big", rng.standard_normal(10_000), 2)  # binned in the background
        writer.add_image("img", rng.random((3, 8, 8)), 3)  # encoded in the background
        writer.flush()

        (path,) = event_files(tmp_path)
        reader = RecordReader(str(path))
        events = [event_pb2.Event.FromString(p) for p in reader.read()]
        assert reader.problems == []
        assert reader.offset == path.stat().st_size
        assert events[0].file_version == "brain.Event:2"
        assert scalars(events, "loss") == [(s, s * 0.25) for s in range(10_000)]
        assert len(values_of(events, "lr")) == 10
        assert len(values_of(events, "note/text_summary")) == 10
        assert len(values_of(events, "small")) == 1
        assert len(values_of(events, "big")) == 1
        assert len(values_of(events, "img")) == 1

        # More logging and another flush: the same reader sees exactly the new events.
        for step in range(10_000, 10_500):
            writer.add_scalar("loss", step * 0.25, step)
        writer.flush()
        more = [event_pb2.Event.FromString(p) for p in reader.read()]
        assert scalars(more, "loss") == [(s, s * 0.25) for s in range(10_000, 10_500)]
        assert reader.problems == []
        assert not writer.file_writer.closed  # type: ignore[union-attr]
    finally:
        writer.close()


def test_close_twice_is_fine_and_the_file_is_complete(tmp_path: Path) -> None:
    writer = SummaryWriter(str(tmp_path))
    for step in range(300):
        writer.add_scalar("a", float(step), step)
    writer.close()
    writer.close()
    writer.flush()  # nothing open: does nothing
    (path,) = event_files(tmp_path)
    assert steps_of(read_clean(path), "a") == list(range(300))


def test_context_manager_closes(tmp_path: Path) -> None:
    with SummaryWriter(str(tmp_path)) as writer:
        for step in range(100):
            writer.add_scalar("a", 1.0, step)
    (path,) = event_files(tmp_path)
    assert steps_of(read_clean(path), "a") == list(range(100))
    writer.close()


def test_logging_after_close_starts_a_new_file(tmp_path: Path) -> None:
    writer = SummaryWriter(str(tmp_path))
    for step in range(100):
        writer.add_scalar("a", float(step), step)
    writer.close()
    (first,) = event_files(tmp_path)
    size = first.stat().st_size
    assert steps_of(read_clean(first), "a") == list(range(100))

    for step in range(100, 200):
        writer.add_scalar("a", float(step), step)
    writer.add_histogram("h", np.arange(10.0), 150)
    writer.close()
    files = event_files(tmp_path)
    assert len(files) == 2
    (second,) = [p for p in files if p != first]
    assert first.stat().st_size == size  # the old file is untouched
    assert steps_of(read_clean(first), "a") == list(range(100))
    events = read_clean(second)
    assert steps_of(events, "a") == list(range(100, 200))
    assert len(values_of(events, "h")) == 1


# -- mistakes raise at the call ----------------------------------------------------------


def test_bad_arguments_raise_at_the_call_site(tmp_path: Path) -> None:
    with SummaryWriter(str(tmp_path)) as writer:
        with pytest.raises(TypeError, match="tag must be a str, got int"):
            writer.add_scalar(123, 1.0, 0)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="tag must be a str"):
            writer.add_scalar(b"loss", 1.0, 0)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match=r"shape \(3,\)"):
            writer.add_scalar("loss", np.ones(3), 0)
        with pytest.raises(ValueError, match=r"shape \(2, 2\)"):
            writer.add_scalar("loss", torch.ones(2, 2), 0)
        with pytest.raises(ValueError, match=r"single number"):
            writer.add_scalar("loss", [1.0, 2.0], 0)
        # One-element inputs are fine.
        writer.add_scalar("loss", np.ones((1, 1)), 1)
        writer.add_scalar("loss", torch.tensor([2.0]), 2)
        writer.add_scalar("loss", np.float32(3.0), 3)
        writer.flush()
        (path,) = event_files(tmp_path)
        events = read_clean(path)
    # The rejected calls wrote nothing.
    assert scalars(events, "loss") == [(1, 1.0), (2, 2.0), (3, 3.0)]


# -- the process ends ----------------------------------------------------------------------

EXIT_WITHOUT_CLOSE = """
import sys
import stepscope

writer = stepscope.SummaryWriter(sys.argv[1])
for step in range(50_000):
    writer.add_scalar("loss", step * 0.5, step)
writer.add_histogram("h", [1.0, 2.0, 3.0], 7)
writer.add_image("img", [[[0.5]]], 8)
print("done")
"""


def test_interpreter_exit_without_close_writes_everything(tmp_path: Path) -> None:
    result = run_child(EXIT_WITHOUT_CLOSE, str(tmp_path))
    assert_child_ok(result)
    assert result.stdout.strip() == "done"
    (path,) = event_files(tmp_path)
    events = read_clean(path)
    assert scalars(events, "loss") == [(s, s * 0.5) for s in range(50_000)]
    assert len(values_of(events, "h")) == 1
    assert len(values_of(events, "img")) == 1


KEEPS_LOGGING = """
import sys
import stepscope

writer = stepscope.SummaryWriter(sys.argv[1])
for step in range(20_000):
    writer.add_scalar("loss", float(step), step)
writer.flush()
print("flushed", flush=True)
step = 20_000
while True:
    writer.add_scalar("loss", float(step), step)
    if step % 5000 == 0:
        writer.add_histogram("h", [float(step)] * 5000, step)
    step += 1
"""


def wait_for_line(proc: subprocess.Popen[str], expected: str, timeout: float) -> None:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    assert ready, f"the child did not print {expected!r} within {timeout}s"
    assert proc.stdout.readline().strip() == expected


@pytest.mark.parametrize("extra_bytes", [1, 300_000])
def test_sigkill_leaves_a_clean_file_with_everything_flushed(
    tmp_path: Path, extra_bytes: int
) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(KEEPS_LOGGING), str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_line(proc, "flushed", timeout=20)
        (path,) = event_files(tmp_path)
        flushed_size = path.stat().st_size
        # Kill it while it is writing more: wait (bounded) for the file to grow.
        deadline = time.monotonic() + 10
        while path.stat().st_size < flushed_size + extra_bytes:
            assert time.monotonic() < deadline, "the child stopped writing"
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            time.sleep(0.005)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        assert proc.stdout is not None
        assert proc.stderr is not None
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL

    events, reader = read_file(path)
    assert reader.problems == []
    assert reader.corrupt_records == 0
    steps = steps_of(events, "loss")
    assert len(steps) >= 20_000
    assert steps == list(range(len(steps)))  # a prefix: nothing missing, nothing repeated
    # Whatever follows the last complete record is the start of one more record.
    assert path.stat().st_size - reader.offset < 10_000


# -- write failures --------------------------------------------------------------------------

FILE_SIZE_LIMIT = """
import json, os, resource, signal, sys
import stepscope

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
writer = stepscope.SummaryWriter(sys.argv[1])
writer.flush()
path = writer.file_writer.path
soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
resource.setrlimit(resource.RLIMIT_FSIZE, (os.path.getsize(path) + 100_000, hard))

accepted = []
error = None
where = None
for step in range(400_000):
    try:
        writer.add_scalar("loss", float(step), step)
    except stepscope.EventWriteError as exc:
        error, where = exc, "add_scalar"
        break
    accepted.append(step)
if error is None:
    try:
        writer.flush()
    except stepscope.EventWriteError as exc:
        error, where = exc, "flush"
report = {
    "path": path,
    "where": where,
    "type": type(error).__name__,
    "is_oserror": isinstance(error, OSError),
    "message": str(error),
    "accepted": len(accepted),
    "contiguous": accepted == list(range(len(accepted))),
}
# The disk recovers: the kept events must now be written, once each.
resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))
for step in range(1_000_000, 1_000_100):
    writer.add_scalar("after", float(step), step)
try:
    writer.flush()
    writer.close()
    report["recovered"] = "ok"
except Exception as exc:
    report["recovered"] = repr(exc)
print(json.dumps(report))
"""


@pytest.fixture(scope="module")
def file_size_limit_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    logdir = tmp_path_factory.mktemp("fsize")
    result = run_child(FILE_SIZE_LIMIT, str(logdir))
    assert result.returncode == 0, result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return report, logdir


def test_background_write_failure_is_raised_at_a_later_call(
    file_size_limit_run: tuple[dict[str, Any], Path],
) -> None:
    report, _ = file_size_limit_run
    assert report["type"] == "EventWriteError", report
    assert report["is_oserror"]
    assert report["where"] in ("add_scalar", "flush")
    message = report["message"]
    assert "\n" not in message
    assert report["path"] in message
    assert "too large" in message.lower()
    assert report["contiguous"]


def test_events_kept_by_a_failed_write_are_written_once_when_the_disk_recovers(
    file_size_limit_run: tuple[dict[str, Any], Path],
) -> None:
    """The write that hit the limit was partial: keeping all of it must not duplicate bytes."""
    report, logdir = file_size_limit_run
    assert report["recovered"] == "ok", report
    (path,) = event_files(logdir)
    events, reader = read_file(path)
    assert reader.problems == [], reader.problems
    steps = steps_of(events, "loss")
    # Every accepted call is there once (the call that raised may or may not be).
    assert steps in (list(range(report["accepted"])), list(range(report["accepted"] + 1)))
    assert steps_of(events, "after") == list(range(1_000_000, 1_000_100))


class FailingFile:
    """Stands in for the open event file: writes fail with ENOSPC while ``full`` is set."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.full = True

    def write(self, data: Any) -> int:
        if self.full:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        written: int = self.real.write(data)
        return written

    @property
    def closed(self) -> bool:
        closed: bool = self.real.closed
        return closed

    def close(self) -> None:
        self.real.close()


def test_failed_write_raises_at_flush_and_keeps_the_events(tmp_path: Path) -> None:
    writer = SummaryWriter(str(tmp_path))
    file_writer = writer.file_writer
    assert file_writer is not None
    path = Path(file_writer.path)
    disk = FailingFile(file_writer._file)
    file_writer._file = disk  # type: ignore[assignment]
    for step in range(10):
        writer.add_scalar("loss", float(step), step)
    with pytest.raises(EventWriteError) as info:
        writer.flush()
    message = str(info.value)
    assert "\n" not in message
    assert str(path) in message
    assert os.strerror(errno.ENOSPC) in message
    assert isinstance(info.value, OSError)

    disk.full = False
    writer.flush()
    assert steps_of(read_clean(path), "loss") == list(range(10))

    # A failure at close() is raised by close(); the events stay queued and the
    # next close() retries, until the disk has room again.
    disk.full = True
    writer.add_scalar("loss", 10.0, 10)
    with pytest.raises(EventWriteError, match="No space left"):
        writer.close()
    with pytest.raises(EventWriteError, match="No space left"):
        writer.close()
    disk.full = False
    writer.close()
    assert file_writer.closed
    assert steps_of(read_clean(path), "loss") == list(range(11))
    writer.close()  # idempotent once closed


def test_background_failure_is_raised_by_the_next_add_call(tmp_path: Path) -> None:
    writer = SummaryWriter(str(tmp_path))
    file_writer = writer.file_writer
    assert file_writer is not None
    disk = FailingFile(file_writer._file)
    file_writer._file = disk  # type: ignore[assignment]
    accepted = 0
    raised: EventWriteError | None = None
    deadline = time.monotonic() + 10  # the background thread writes at least every 2 s
    while time.monotonic() < deadline:
        try:
            writer.add_histogram("h", np.arange(3.0), accepted)
        except EventWriteError as error:
            raised = error
            break
        accepted += 1
    assert raised is not None, "no add_* call reported the failed background write"
    assert file_writer.path in str(raised)
    assert "\n" not in str(raised)

    disk.full = False
    writer.flush()
    writer.close()
    events = read_clean(Path(file_writer.path))
    steps = [e.step for e in values_of(events, "h")]
    # The call that reported the failure had queued its own event first.
    assert steps == list(range(accepted + 1))


def test_unwritable_log_dir_raises_at_construction(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(EventWriteError, match="cannot create the event file") as info:
        SummaryWriter(str(blocker / "run"))
    assert "\n" not in str(info.value)
    assert str(blocker) in str(info.value)


def test_a_reader_polling_a_live_file_never_sees_corruption(tmp_path: Path) -> None:
    writer = SummaryWriter(str(tmp_path))
    total = 150_000
    done = threading.Event()

    def log() -> None:
        try:
            for step in range(total):
                writer.add_scalar("loss", float(step), step)
                if step % 10_000 == 0:
                    writer.add_histogram("h", np.full(5000, 1.0), step)
                    writer.flush()
        finally:
            done.set()

    thread = threading.Thread(target=log)
    thread.start()
    (path,) = event_files(tmp_path)
    reader = RecordReader(str(path), chunk_size=4096)
    payloads: list[bytes] = []
    deadline = time.monotonic() + 30
    while not done.is_set():
        assert time.monotonic() < deadline
        payloads += list(reader.read())
        assert reader.problems == []
    thread.join(timeout=30)
    writer.close()
    payloads += list(reader.read())
    assert reader.problems == []
    assert reader.offset == path.stat().st_size
    events = [event_pb2.Event.FromString(p) for p in payloads]
    assert steps_of(events, "loss") == list(range(total))


def test_deleted_directory_is_reported_then_recreated_without_losing_events(
    tmp_path: Path,
) -> None:
    logdir = tmp_path / "run"
    writer = SummaryWriter(str(logdir))
    try:
        for step in range(100):
            writer.add_scalar("loss", float(step), step)
        writer.flush()
        (old,) = event_files(logdir)
        before = steps_of(read_clean(old), "loss")
        assert before == list(range(100))

        shutil.rmtree(logdir)
        for step in range(100, 200):
            writer.add_scalar("loss", float(step), step)
        with pytest.raises(EventWriteError, match="deleted") as info:
            writer.flush()
        assert "\n" not in str(info.value)
        assert str(old) in str(info.value)

        writer.flush()  # writes the kept events into a new file
        assert logdir.is_dir()
        for step in range(200, 300):
            writer.add_scalar("loss", float(step), step)
        writer.close()
    finally:
        writer.close()

    after: list[int] = []
    for path in event_files(logdir):
        after += steps_of(read_clean(path), "loss")
    assert sorted(after) == list(range(100, 300))
    assert sorted(before + after) == list(range(300))


# -- concurrency -------------------------------------------------------------------------------


def test_many_threads_logging_to_one_writer_lose_nothing(tmp_path: Path) -> None:
    writer = SummaryWriter(str(tmp_path))
    threads_count, per_thread = 8, 15_000
    barrier = threading.Barrier(threads_count)
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            barrier.wait()
            for step in range(per_thread):
                writer.add_scalar(f"t{k}", float(step), step)
                if step % 3000 == 0:
                    writer.add_histogram(f"h{k}", np.full(5000, float(k + 1)), step)
                    writer.add_text(f"x{k}", str(step), step)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    writer.close()
    assert errors == []
    (path,) = event_files(tmp_path)
    by_tag: dict[str, list[tuple[int, str, float]]] = {}
    for event in read_clean(path)[1:]:
        for value in event.summary.value:
            kind = value.WhichOneof("value") or ""
            by_tag.setdefault(value.tag, []).append((event.step, kind, value.simple_value))
    expected_tags = {f"{kind}{k}" for kind in ("t", "h") for k in range(threads_count)}
    expected_tags |= {f"x{k}/text_summary" for k in range(threads_count)}
    assert set(by_tag) == expected_tags
    for k in range(threads_count):
        # Each thread's events come out complete, once each, in that thread's order.
        assert by_tag[f"t{k}"] == [(s, "simple_value", float(s)) for s in range(per_thread)]
        assert [(s, kind) for s, kind, _ in by_tag[f"h{k}"]] == [
            (s, "histo") for s in range(0, per_thread, 3000)
        ]
        assert [s for s, _, _ in by_tag[f"x{k}/text_summary"]] == list(range(0, per_thread, 3000))


# -- deferred work snapshots its inputs ----------------------------------------------------------


def test_deferred_histogram_uses_the_values_at_call_time(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    array = rng.standard_normal(10_000)
    original = array.copy()
    tensor = torch.from_numpy(rng.standard_normal(8192).astype(np.float32))
    tensor_original = tensor.numpy().copy()
    with SummaryWriter(str(tmp_path)) as writer:
        writer.add_histogram("array", array, 1)
        array[:] = 7.0
        writer.add_histogram("tensor", tensor, 2)
        tensor.zero_()
        writer.flush()
        (path,) = event_files(tmp_path)
        events = read_clean(path)
    for tag, values in (("array", original), ("tensor", tensor_original)):
        (event,) = values_of(events, tag)
        written = event.summary.value[0].histo
        expected = histogram_value(tag, values).histo
        assert list(written.bucket) == list(expected.bucket)
        assert list(written.bucket_limit) == list(expected.bucket_limit)
        assert written.min == expected.min
        assert written.max == expected.max
        assert written.sum == pytest.approx(expected.sum, rel=1e-12, abs=1e-9)


def decode_png(encoded: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(encoded)).convert("RGB"))


def test_deferred_images_use_the_pixels_at_call_time(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    hwc = rng.integers(0, 256, (64, 80, 3), dtype=np.uint8)
    hwc_original = hwc.copy()
    chw = torch.from_numpy(rng.integers(0, 256, (3, 40, 50), dtype=np.uint8))
    chw_original = chw.numpy().transpose(1, 2, 0).copy()
    boxed = rng.integers(0, 256, (3, 32, 32), dtype=np.uint8)
    boxes = np.array([[2.0, 2.0, 20.0, 20.0]])
    video = rng.integers(0, 256, (1, 4, 3, 16, 16), dtype=np.uint8)
    video_original = video.copy()
    with SummaryWriter(str(tmp_path)) as writer:
        writer.add_image("hwc", hwc, 1, dataformats="HWC")
        hwc[:] = 0
        writer.add_image("chw", chw, 2)
        chw.zero_()
        writer.add_image_with_boxes("boxed", boxed, boxes, 3)
        writer.add_image_with_boxes("boxed_ref", boxed.copy(), boxes.copy(), 3)
        boxed[:] = 255
        boxes[:] = 0
        writer.add_video("video", video, 4)
        video[:] = 0
        writer.flush()
        (path,) = event_files(tmp_path)
        events = read_clean(path)

    def encoded(tag: str) -> bytes:
        (event,) = values_of(events, tag)
        return event.summary.value[0].image.encoded_image_string

    assert np.array_equal(decode_png(encoded("hwc")), hwc_original)
    assert np.array_equal(decode_png(encoded("chw")), chw_original)
    assert encoded("boxed") == encoded("boxed_ref")
    expected_gif = gif_value("video", video_frames(video_original, "video"), 4).image
    assert encoded("video") == expected_gif.encoded_image_string


# -- memory ----------------------------------------------------------------------------------------

MANY_SCALARS = """
import json, os, sys
import psutil
import stepscope

process = psutil.Process()
writer = stepscope.SummaryWriter(sys.argv[1])
writer.add_scalar("loss", 0.5, 0)
writer.flush()
baseline = process.memory_info().rss
peak = baseline
add = writer.add_scalar
for step in range(2_000_000):
    add("loss", 0.5, step)
    if step % 20_000 == 0:
        peak = max(peak, process.memory_info().rss)
peak = max(peak, process.memory_info().rss)
path = writer.file_writer.path
writer.close()
print(json.dumps({"growth": peak - baseline, "path": path, "size": os.path.getsize(path)}))
"""


@pytest.mark.slow
def test_memory_stays_bounded_under_two_million_scalars(tmp_path: Path) -> None:
    result = run_child(MANY_SCALARS, str(tmp_path), timeout=60)
    assert_child_ok(result)
    report = json.loads(result.stdout)
    # 2,000,000 scalar records are about 88 MB serialized (and several times that as
    # queued Python objects): holding all of them, in either form, exceeds 64 MB.
    assert report["growth"] < 64e6, f"RSS grew by {report['growth'] / 1e6:.0f} MB"

    # Nothing was dropped: the file is exactly the header record plus 2,000,001
    # scalar records (step 0 twice), whose sizes are known.
    path = Path(report["path"])
    events, reader = [], RecordReader(str(path), chunk_size=1 << 16)
    for payload in reader.read():
        events.append(payload)
        if len(events) == 3:
            break
    header_size = reader.offset - sum(16 + len(p) for p in events[1:])
    prefix = len(ScalarEventEncoder().prefix("loss"))
    base = 16 + 9 + prefix + 4  # framing, wall time, summary prefix, float
    # Steps 1 .. 1,999,999 each add a step field: a tag byte and a varint.
    step_bytes = 0
    for low, high in ((1, 128), (128, 128**2), (128**2, 2_000_000)):
        assert len(varint(low)) == len(varint(high - 1))
        step_bytes += (high - low) * (1 + len(varint(low)))
    expected = header_size + 2_000_001 * base + step_bytes
    assert report["size"] == expected
    assert reader.problems == []


def test_stepscope_exposes_event_write_error_as_oserror() -> None:
    assert issubclass(stepscope.EventWriteError, OSError)
    assert issubclass(stepscope.EventWriteError, stepscope.StepscopeError)


FORK_CHILD = """
import os, sys
from stepscope import SummaryWriter
parent_dir, child_dir = sys.argv[1], sys.argv[2]
writer = SummaryWriter(parent_dir)
for step in range(500):
    writer.add_scalar("parent", float(step), step)  # queued, not yet written
pid = os.fork()
if pid == 0:
    # A forked worker that logs on its own, then exits normally (running the
    # exit-time flush), must not write the parent's queue too.
    with SummaryWriter(child_dir) as child:
        child.add_scalar("child", 1.0, 1)
    sys.exit(0)
_, status = os.waitpid(pid, 0)
assert status == 0, status
writer.close()
"""


def test_a_forked_child_never_writes_the_parents_events(tmp_path: Path) -> None:
    parent_dir, child_dir = tmp_path / "parent", tmp_path / "child"
    assert_child_ok(run_child(FORK_CHILD, str(parent_dir), str(child_dir)))
    [parent_file] = parent_dir.glob("*tfevents*")
    assert steps_of(read_clean(parent_file), "parent") == list(range(500))
    [child_file] = child_dir.glob("*tfevents*")
    events = read_clean(child_file)
    assert steps_of(events, "child") == [1]
    assert steps_of(events, "parent") == []
