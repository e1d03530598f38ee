"""TFRecord framing and the incremental reader (``stepscope.records``).

Checked against the reference test vectors, against the framing that
tensorboard's own writer produces, and against tensorboard's own reader on
files written by torch's real ``SummaryWriter``. The reader is exercised the
way a live dashboard uses it: on files that are still growing (a partial
last record is "wait", not corruption), on damaged files (skip, report once,
carry on) and with every kind of chunk boundary.
"""

from __future__ import annotations

import io
import os
import random
import struct
import time
from pathlib import Path

import google_crc32c
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tensorboard.backend.event_processing.event_file_loader import RawEventFileLoader
from tensorboard.summary.writer.record_writer import RecordWriter

from stepscope.proto import event_pb2
from stepscope.records import (
    FOOTER_SIZE,
    HEADER_SIZE,
    RecordReader,
    frame_record,
    masked_crc32c,
    read_records,
    record_header,
)

CHUNK_SIZES = [1, 7, 64, 4096, 16 << 20]


def random_payloads(seed: int, count: int, max_size: int = 300) -> list[bytes]:
    rnd = random.Random(seed)
    return [rnd.randbytes(rnd.randint(0, max_size)) for _ in range(count)]


def write_records(path: Path, payloads: list[bytes]) -> list[int]:
    """Write the framed payloads; return the offset of each record."""
    offsets = []
    data = bytearray()
    for payload in payloads:
        offsets.append(len(data))
        data += frame_record(payload)
    path.write_bytes(bytes(data))
    return offsets


# -- CRC and framing ------------------------------------------------------------


def test_crc32c_of_32_zero_bytes_matches_reference_vector() -> None:
    assert google_crc32c.value(b"\0" * 32) == 0x8A9136AA


def test_masked_crc_matches_reference_vector() -> None:
    assert masked_crc32c(b"\x1a\x11CRC test, one two") == 0x5794D08A


def test_masked_crc_follows_the_documented_formula() -> None:
    for data in (b"", b"a", b"\0" * 32, bytes(range(256))):
        crc = google_crc32c.value(data)
        expected = ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF
        assert masked_crc32c(data) == expected


def test_frame_layout() -> None:
    payload = b"hello event"
    framed = frame_record(payload)
    assert len(framed) == HEADER_SIZE + len(payload) + FOOTER_SIZE == 12 + len(payload) + 4
    length, length_crc = struct.unpack_from("<QI", framed)
    assert length == len(payload)
    assert length_crc == masked_crc32c(framed[:8])
    assert framed[12:-4] == payload
    assert struct.unpack("<I", framed[-4:])[0] == masked_crc32c(payload)
    assert record_header(len(payload)) == framed[:12]


@settings(derandomize=True, database=None, deadline=None)
@given(st.binary(max_size=2000))
def test_frame_record_is_byte_identical_to_tensorboards_record_writer(payload: bytes) -> None:
    out = io.BytesIO()
    RecordWriter(out).write(payload)
    assert frame_record(payload) == out.getvalue()


def test_record_header_for_large_lengths() -> None:
    # Cached and uncached paths give the same bytes, also for lengths >= 2**32.
    for length in (0, 1, 127, 128, 65535, 1 << 20, (1 << 32) + 5):
        length_bytes = length.to_bytes(8, "little")
        expected = length_bytes + struct.pack("<I", masked_crc32c(length_bytes))
        assert record_header(length) == expected
        assert record_header(length) == expected


# -- round trips ------------------------------------------------------------------


@settings(
    derandomize=True,
    database=None,
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    payloads=st.lists(st.binary(max_size=600), max_size=40),
    chunk_size=st.integers(min_value=1, max_value=700),
)
def test_round_trip_of_random_payloads(
    tmp_path_factory: pytest.TempPathFactory, payloads: list[bytes], chunk_size: int
) -> None:
    path = tmp_path_factory.mktemp("rt") / "events.out.tfevents.1.host"
    write_records(path, payloads)
    reader = RecordReader(str(path), chunk_size=chunk_size)
    assert list(reader.read()) == payloads
    assert reader.problems == []
    assert reader.corrupt_records == 0
    assert reader.offset == path.stat().st_size
    assert read_records(str(path)) == payloads


def test_empty_payload_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "events.out.tfevents.1.host"
    write_records(path, [b"", b"x", b"", b""])
    reader = RecordReader(str(path))
    assert list(reader.read()) == [b"", b"x", b"", b""]
    assert reader.problems == []


def test_our_frames_read_by_tensorboards_reader(tmp_path: Path) -> None:
    payloads = [
        event_pb2.Event(wall_time=1.5 + i, step=i, file_version=f"v{i}").SerializeToString()
        for i in range(50)
    ]
    path = tmp_path / "events.out.tfevents.1.host"
    write_records(path, payloads)
    assert list(RawEventFileLoader(str(path)).Load()) == payloads


@pytest.fixture(scope="module")
def torch_event_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from torch.utils.tensorboard import SummaryWriter as TorchSummaryWriter

    logdir = tmp_path_factory.mktemp("torch_run")
    writer = TorchSummaryWriter(str(logdir))
    rng = np.random.default_rng(0)
    for step in range(200):
        writer.add_scalar("loss", float(rng.standard_normal()), step)
        writer.add_scalar("acc", step / 200, step)
    for step in range(5):
        writer.add_histogram("weights", rng.standard_normal(1000), step)
        writer.add_image("img", rng.random((3, 16, 16)), step)
        writer.add_text("note", "hello " * step, step)
    writer.close()
    (path,) = [p for p in logdir.iterdir() if "tfevents" in p.name]
    return path


@pytest.mark.parametrize("chunk_size", CHUNK_SIZES)
def test_torch_written_file_matches_tensorboards_reader(
    torch_event_file: Path, chunk_size: int
) -> None:
    reader = RecordReader(str(torch_event_file), chunk_size=chunk_size)
    ours = list(reader.read())
    theirs = list(RawEventFileLoader(str(torch_event_file)).Load())
    assert ours == theirs
    assert len(ours) == 1 + 400 + 15
    assert reader.problems == []
    assert reader.corrupt_records == 0
    assert reader.offset == torch_event_file.stat().st_size
    events = [event_pb2.Event.FromString(payload) for payload in ours]
    assert events[0].file_version == "brain.Event:2"
    for event, payload in zip(events, ours, strict=True):
        # Every payload is a whole Event: it re-serializes to the same bytes.
        assert event.SerializeToString() == payload
    tags = [v.tag for e in events[1:] for v in e.summary.value]
    assert tags.count("loss") == 200
    assert tags.count("weights") == 5


# -- growing files ------------------------------------------------------------------


@pytest.mark.parametrize("chunk_size", [7, 64, 16 << 20])
def test_partial_last_record_at_every_cut_is_waited_for(tmp_path: Path, chunk_size: int) -> None:
    payloads = [*random_payloads(seed=1, count=6, max_size=80), b"L" * 97]
    full = b"".join(frame_record(p) for p in payloads)
    last_start = len(full) - len(frame_record(payloads[-1]))
    path = tmp_path / "events.out.tfevents.1.host"
    for cut in range(last_start, len(full)):
        path.write_bytes(full[:cut])
        reader = RecordReader(str(path), chunk_size=chunk_size)
        assert list(reader.read()) == payloads[:-1], cut
        assert reader.offset == last_start, cut
        assert reader.problems == [], cut
        assert reader.corrupt_records == 0
        # Reading again without new data yields nothing and stays put.
        assert list(reader.read()) == []
        assert reader.offset == last_start
        # The writer finishes the record: exactly the missing one comes out.
        with open(path, "ab") as f:
            f.write(full[cut:])
        assert list(reader.read()) == [payloads[-1]], cut
        assert reader.offset == len(full)
        assert reader.problems == []


def test_reader_follows_a_growing_file_record_by_record(tmp_path: Path) -> None:
    payloads = random_payloads(seed=2, count=40)
    path = tmp_path / "events.out.tfevents.1.host"
    path.write_bytes(b"")
    reader = RecordReader(str(path), chunk_size=64)
    seen: list[bytes] = []
    data = b"".join(frame_record(p) for p in payloads)
    rnd = random.Random(3)
    pos = 0
    while pos < len(data):
        step = rnd.randint(1, 50)
        with open(path, "ab") as f:
            f.write(data[pos : pos + step])
        pos += step
        seen += list(reader.read())
    assert seen == payloads
    assert reader.problems == []


# -- damaged files ------------------------------------------------------------------


@pytest.mark.parametrize("chunk_size", CHUNK_SIZES)
def test_payload_crc_mismatch_skips_that_record_only(tmp_path: Path, chunk_size: int) -> None:
    payloads = random_payloads(seed=4, count=30)
    payloads[10] = b"x" * 50
    path = tmp_path / "events.out.tfevents.1.host"
    offsets = write_records(path, payloads)
    data = bytearray(path.read_bytes())
    data[offsets[10] + HEADER_SIZE + 20] ^= 0x01
    path.write_bytes(bytes(data))

    reader = RecordReader(str(path), chunk_size=chunk_size)
    assert list(reader.read()) == payloads[:10] + payloads[11:]
    assert reader.corrupt_records == 1
    assert len(reader.problems) == 1
    problem = reader.problems[0]
    assert problem.path == str(path)
    assert problem.offset == offsets[10]
    assert str(path) in str(problem)
    assert str(offsets[10]) in str(problem)
    assert reader.offset == len(data)


@pytest.mark.parametrize("chunk_size", CHUNK_SIZES)
def test_footer_crc_mismatch_skips_that_record_only(tmp_path: Path, chunk_size: int) -> None:
    payloads = random_payloads(seed=5, count=20)
    payloads[7] = b"y" * 40
    path = tmp_path / "events.out.tfevents.1.host"
    offsets = write_records(path, payloads)
    data = bytearray(path.read_bytes())
    data[offsets[8] - 1] ^= 0x80  # last byte of record 7's payload CRC
    path.write_bytes(bytes(data))
    reader = RecordReader(str(path), chunk_size=chunk_size)
    assert list(reader.read()) == payloads[:7] + payloads[8:]
    assert reader.corrupt_records == 1
    assert [p.offset for p in reader.problems] == [offsets[7]]


@pytest.mark.parametrize("byte", [0, 3, 7, 8, 11])
@pytest.mark.parametrize("chunk_size", CHUNK_SIZES)
def test_corrupt_length_header_resyncs_to_next_record(
    tmp_path: Path, chunk_size: int, byte: int
) -> None:
    """A damaged length (or its CRC) mid-file: skip to the next good header, report once."""
    payloads = random_payloads(seed=6, count=30)
    path = tmp_path / "events.out.tfevents.1.host"
    offsets = write_records(path, payloads)
    data = bytearray(path.read_bytes())
    data[offsets[12] + byte] ^= 0x5A
    path.write_bytes(bytes(data))

    reader = RecordReader(str(path), chunk_size=chunk_size)
    assert list(reader.read()) == payloads[:12] + payloads[13:]
    assert len(reader.problems) == 1
    assert reader.problems[0].offset == offsets[12]
    assert reader.problems[0].path == str(path)
    assert reader.corrupt_records >= 1
    assert reader.offset == len(data)


def test_one_damaged_header_counts_once_whatever_the_chunking(tmp_path: Path) -> None:
    """``corrupt_records`` says how much is damaged: not how the bytes were chunked."""
    payloads = random_payloads(seed=6, count=30)
    path = tmp_path / "events.out.tfevents.1.host"
    offsets = write_records(path, payloads)
    data = bytearray(path.read_bytes())
    data[offsets[12]] ^= 0x5A
    path.write_bytes(bytes(data))
    counts = {}
    for chunk_size in CHUNK_SIZES:
        reader = RecordReader(str(path), chunk_size=chunk_size)
        assert list(reader.read()) == payloads[:12] + payloads[13:]
        counts[chunk_size] = reader.corrupt_records
    assert counts == dict.fromkeys(CHUNK_SIZES, 1)


def test_one_damaged_header_counts_once_while_the_file_grows(tmp_path: Path) -> None:
    """A reader polling a live file sees the damaged header before the next record exists."""
    payloads = random_payloads(seed=17, count=10)
    frames = [frame_record(p) for p in payloads]
    damaged = bytearray(frames[4])
    damaged[0] ^= 0x5A
    frames[4] = bytes(damaged)
    path = tmp_path / "events.out.tfevents.1.host"
    path.write_bytes(b"")
    reader = RecordReader(str(path))
    seen: list[bytes] = []
    for frame in frames:
        with open(path, "ab") as f:
            f.write(frame)
        seen += list(reader.read())
    assert seen == payloads[:4] + payloads[5:]
    assert len(reader.problems) == 1
    assert reader.corrupt_records == 1


def test_problems_reported_once_per_file_while_count_grows(tmp_path: Path) -> None:
    payloads = random_payloads(seed=7, count=30)
    for i in (5, 15, 25):
        payloads[i] = b"z" * 30
    path = tmp_path / "events.out.tfevents.1.host"
    offsets = write_records(path, payloads)
    data = bytearray(path.read_bytes())
    for i in (5, 15, 25):
        data[offsets[i] + HEADER_SIZE + 3] ^= 0xFF
    path.write_bytes(bytes(data))
    reader = RecordReader(str(path))
    good = [p for i, p in enumerate(payloads) if i not in (5, 15, 25)]
    assert list(reader.read()) == good
    assert reader.corrupt_records == 3
    assert [p.offset for p in reader.problems] == [offsets[5]]
    # A second pass over the same reader does not report again.
    assert list(reader.read()) == []
    assert len(reader.problems) == 1
    assert reader.corrupt_records == 3


def test_zero_length_file(tmp_path: Path) -> None:
    path = tmp_path / "events.out.tfevents.1.host"
    path.write_bytes(b"")
    reader = RecordReader(str(path))
    assert list(reader.read()) == []
    assert reader.offset == 0
    assert reader.problems == []
    assert reader.corrupt_records == 0


@pytest.mark.parametrize("chunk_size", [7, 4096, 16 << 20])
def test_small_random_garbage_file(tmp_path: Path, chunk_size: int) -> None:
    path = tmp_path / "events.out.tfevents.1.host"
    path.write_bytes(random.Random(8).randbytes(5000))
    reader = RecordReader(str(path), chunk_size=chunk_size)
    assert list(reader.read()) == []
    assert len(reader.problems) == 1
    assert reader.problems[0].offset == 0
    assert "corrupt" in reader.problems[0].message
    assert reader.corrupt_records >= 1


def test_big_random_garbage_file_is_read_fast(tmp_path: Path) -> None:
    path = tmp_path / "events.out.tfevents.1.host"
    path.write_bytes(random.Random(9).randbytes(8 << 20))
    reader = RecordReader(str(path))
    start = time.perf_counter()
    assert list(reader.read()) == []
    elapsed = time.perf_counter() - start
    assert len(reader.problems) == 1
    assert elapsed < 1.0, f"8 MB of garbage took {elapsed:.2f}s"


def test_zero_filled_region_is_read_fast(tmp_path: Path) -> None:
    """A crash can leave a block of zeros (delayed allocation); skipping it must not crawl."""
    payloads = random_payloads(seed=10, count=5)
    data = b"".join(frame_record(p) for p in payloads)
    tail = [b"after the hole"]
    path = tmp_path / "events.out.tfevents.1.host"
    path.write_bytes(data + b"\0" * (1 << 20) + frame_record(tail[0]))
    reader = RecordReader(str(path))
    start = time.perf_counter()
    records = list(reader.read())
    elapsed = time.perf_counter() - start
    assert records == payloads + tail
    assert [p.offset for p in reader.problems] == [len(data)]
    # Random garbage of 8 MB takes about 10 ms; a 1 MB hole must not take much longer.
    assert elapsed < 0.5, f"1 MB of zeros took {elapsed:.2f}s"


def test_garbage_then_valid_records(tmp_path: Path) -> None:
    payloads = random_payloads(seed=11, count=10)
    garbage = random.Random(12).randbytes(3000)
    path = tmp_path / "events.out.tfevents.1.host"
    path.write_bytes(garbage + b"".join(frame_record(p) for p in payloads))
    for chunk_size in CHUNK_SIZES:
        reader = RecordReader(str(path), chunk_size=chunk_size)
        assert list(reader.read()) == payloads, chunk_size
        assert len(reader.problems) == 1
        assert reader.problems[0].offset == 0


def test_huge_length_field_with_valid_crc_is_corruption_not_a_wait(tmp_path: Path) -> None:
    # A header claiming more than the 2 GiB protobuf limit cannot be a real event.
    length_bytes = (1 << 40).to_bytes(8, "little")
    bogus = length_bytes + struct.pack("<I", masked_crc32c(length_bytes))
    payloads = random_payloads(seed=13, count=3)
    path = tmp_path / "events.out.tfevents.1.host"
    path.write_bytes(bogus + b"".join(frame_record(p) for p in payloads))
    reader = RecordReader(str(path))
    assert list(reader.read()) == payloads
    assert [p.offset for p in reader.problems] == [0]


# -- chunking -----------------------------------------------------------------------


@pytest.mark.parametrize("chunk_size", [1, 7, 13, 64, 100, 1000])
def test_small_chunks_give_the_same_records_as_one_big_chunk(
    tmp_path: Path, chunk_size: int
) -> None:
    rnd = random.Random(14)
    # Sizes around the chunk sizes so that records straddle every kind of boundary.
    payloads = [rnd.randbytes(n) for n in [0, 1, 6, 7, 8, 50, 51, 52, 63, 64, 65, 999, 1000, 3000]]
    payloads += random_payloads(seed=15, count=50)
    path = tmp_path / "events.out.tfevents.1.host"
    write_records(path, payloads)
    big = RecordReader(str(path), chunk_size=16 << 20)
    small = RecordReader(str(path), chunk_size=chunk_size)
    assert list(small.read()) == list(big.read()) == payloads
    assert small.offset == big.offset == os.path.getsize(path)
    assert small.problems == big.problems == []


def test_stopping_iteration_early_resumes_after_the_last_yielded_record(tmp_path: Path) -> None:
    payloads = random_payloads(seed=16, count=20)
    path = tmp_path / "events.out.tfevents.1.host"
    write_records(path, payloads)
    reader = RecordReader(str(path), chunk_size=64)
    got = []
    for payload in reader.read():
        got.append(payload)
        if len(got) == 7:
            break
    got += list(reader.read())
    assert got == payloads
